/**
 * Apollo's libraries report to Apollo on their own, and frontdesk reaches only what its config names
 * (docs/production.md "What the gateway connects to"):
 *
 * - Apollo Gateway, when constructed, builds an OpenTelemetry metrics exporter to Apollo's usage endpoint
 *   (host, OS, CPU and memory figures every hour) and runs cloud resource detectors, which look up the GCP
 *   metadata server among others. Its only switch is the APOLLO_TELEMETRY_DISABLED environment variable,
 *   read in the constructor: `constructWithoutTelemetry` sets it for that call and puts it back.
 * - Apollo Server installs usage reporting (operation traces to Apollo Studio) when APOLLO_KEY and
 *   APOLLO_GRAPH_REF are set, and schema reporting with APOLLO_SCHEMA_REPORTING=true: variables a machine
 *   that runs rover against Apollo Studio has. Their `Disabled` plugins keep both out whatever the
 *   environment says.
 */
import { ApolloServerPluginSchemaReportingDisabled, ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';

export function constructWithoutTelemetry<T>(construct: () => T): T {
  const previous = process.env.APOLLO_TELEMETRY_DISABLED;
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  try {
    return construct();
  } finally {
    if (previous === undefined) delete process.env.APOLLO_TELEMETRY_DISABLED;
    else process.env.APOLLO_TELEMETRY_DISABLED = previous;
  }
}

export const noReportingPlugins = () => [ApolloServerPluginUsageReportingDisabled(), ApolloServerPluginSchemaReportingDisabled()];
