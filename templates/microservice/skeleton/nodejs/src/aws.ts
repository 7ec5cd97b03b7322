/** Settings every AWS SDK client of the service shares. */
import type { Config } from "./config.js";

/** The region and, for a local endpoint (moto, DynamoDB Local), its URL; in AWS both come from the pod. */
export function awsClientConfig(config: Config) {
  return {
    ...(config.AWS_REGION ? { region: config.AWS_REGION } : {}),
    ...(config.AWS_ENDPOINT_URL ? { endpoint: config.AWS_ENDPOINT_URL } : {}),
  };
}
