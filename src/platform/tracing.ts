// Optional OpenTelemetry traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, each
// operation's phases become spans exported over OTLP/HTTP. Variables, results and
// resolver arguments are never recorded: they can hold message bodies and secrets.
import { useOpenTelemetry } from '@envelop/opentelemetry';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Plugin } from 'graphql-yoga';

export type Tracing = { plugin: Plugin; shutdown(): Promise<void> };

/** `endpoint`: the collector's base URL, e.g. http://otel-collector:4318. */
export function createTracing(endpoint: string, serviceName = 'ticketql'): Tracing {
  const provider = new BasicTracerProvider({ resource: new Resource({ 'service.name': serviceName }) });
  provider.addSpanProcessor(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces` }), { scheduledDelayMillis: 500 }));
  return {
    // No resolver spans: they would record resolver arguments (message bodies, search terms).
    plugin: useOpenTelemetry({ resolvers: false, variables: false, result: false }, provider, undefined, undefined, serviceName) as Plugin,
    shutdown: () => provider.shutdown(),
  };
}
