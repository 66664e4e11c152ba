// Operation and HTTP metrics on /metrics (@graphql-yoga/plugin-prometheus), in the
// registry that also holds the product's own gauges (platform/metrics.ts).
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type { Metrics } from '../platform/metrics.js';

export function prometheusPlugin(metrics: Metrics) {
  return usePrometheus({
    endpoint: '/metrics',
    registry: metrics.registry,
    // Operation counts and durations, and HTTP durations. The per-phase histograms,
    // the summary and the deprecated-field counter (which walks every document)
    // cost measurable CPU on each request and add little to these.
    // Label values come from the schema and the server only: operation names and URLs
    // are chosen by clients (unbounded, and GET URLs carry variables), so neither is a label.
    labels: { operationName: false, url: false, fieldName: false, typeName: false },
    metrics: {
      graphql_envelop_request: true,
      graphql_envelop_request_duration: true,
      graphql_envelop_error_result: true,
      graphql_envelop_schema_change: true,
      graphql_yoga_http_duration: true,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_parse: false,
      graphql_envelop_phase_validate: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_phase_execute: false,
      graphql_envelop_phase_subscribe: false,
      graphql_envelop_deprecated_field: false,
      graphql_envelop_execute_resolver: false,
    },
  });
}
