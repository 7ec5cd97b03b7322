import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import * as yaml from 'yaml';

/** The values of the story's example service, as the form sends them. */
const userService = {
  serviceName: 'user-service',
  description: 'Manages user accounts and profiles.',
  owner: 'group:default/platform-team',
  language: 'python',
  database: 'postgresql',
  apiType: 'rest',
  environment: 'staging',
  repoUrl: 'github.com?owner=acme&repo=user-service',
};

export const examples: TemplateExample[] = [
  {
    description:
      "Render the built-in microservice template set into the workspace root with the form's parameters.",
    example: yaml.stringify({
      steps: [
        {
          id: 'render',
          action: 'svcgen:render',
          name: 'Render the service',
          input: {
            templateSet: 'microservice',
            values: '${{ parameters }}',
          },
        },
      ],
    }),
  },
  {
    description: 'Render a Python service with fixed values into a subfolder of the workspace.',
    example: yaml.stringify({
      steps: [
        {
          id: 'render',
          action: 'svcgen:render',
          name: 'Render user-service',
          input: {
            templateSet: 'microservice',
            targetPath: './user-service',
            values: userService,
          },
        },
      ],
    }),
  },
  {
    description:
      'Render a Go service with GitLab CI and a scheduled job; the schedule is required once scheduledJobs is true.',
    example: yaml.stringify({
      steps: [
        {
          id: 'render',
          action: 'svcgen:render',
          name: 'Render the billing worker',
          input: {
            values: {
              serviceName: 'billing-worker',
              owner: 'group:default/payments',
              language: 'go',
              database: 'dynamodb',
              repoUrl: 'gitlab.com?owner=acme&repo=billing-worker',
              ciProvider: 'gitlab',
              scheduledJobs: true,
              schedule: '0 * * * *',
            },
          },
        },
      ],
    }),
  },
];
