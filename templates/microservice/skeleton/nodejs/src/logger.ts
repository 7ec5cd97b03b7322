/** Structured logs: one JSON object per line on stdout, with the trace context when there is one. */
import { trace } from "@opentelemetry/api";
import { pino } from "pino";

const LEVELS: Record<string, pino.Level> = {
  DEBUG: "debug",
  INFO: "info",
  WARNING: "warn",
  ERROR: "error",
  CRITICAL: "fatal",
};

export type Logger = pino.Logger;

export function createLogger(level = "INFO"): Logger {
  return pino({
    level: LEVELS[level.toUpperCase()] ?? "info",
    messageKey: "message",
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label.toUpperCase() }),
    },
    mixin() {
      const context = trace.getActiveSpan()?.spanContext();
      return context ? { trace_id: context.traceId, span_id: context.spanId } : {};
    },
  });
}
