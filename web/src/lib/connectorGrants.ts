// A task's agent.connectors as checkboxes: one per connector tool GET /v1/tools lists.
// A grant without `tools` allows all of a connector's tools; unticking one turns it into the
// list of the others, and unticking the last removes the grant.
import type { Agent } from "../api/client";

export type Grant = NonNullable<Agent["connectors"]>[number];

export function isGranted(grants: Grant[], connectorId: string, tool: string): boolean {
  const grant = grants.find((g) => g.connector === connectorId);
  return grant !== undefined && (grant.tools == null || grant.tools.includes(tool));
}

export function toggleGrant(grants: Grant[], connectorId: string, tool: string, on: boolean, allTools: string[]): Grant[] {
  const others = grants.filter((g) => g.connector !== connectorId);
  const current = grants.find((g) => g.connector === connectorId);
  const granted = current === undefined ? [] : current.tools == null ? allTools : current.tools;
  const next = on ? [...new Set([...granted, tool])] : granted.filter((name) => name !== tool);
  if (next.length === 0) return others;
  return [...others, { connector: connectorId, tools: next }];
}
