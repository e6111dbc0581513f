// The MCP methods (2025-11-25) that may travel each way: a message the spec does not define for its direction is
// never relayed, so a request dressed as a notification (no id) cannot reach an upstream past the pipeline.

/** Notifications a client may send a server. Anything else from an agent is dropped (and logged). */
export const CLIENT_NOTIFICATIONS: ReadonlySet<string> = new Set([
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
  'notifications/tasks/status',
]);

/** Notifications a server may send a client. Anything else from an upstream is dropped (and logged). */
export const SERVER_NOTIFICATIONS: ReadonlySet<string> = new Set([
  'notifications/cancelled',
  'notifications/progress',
  'notifications/message',
  'notifications/resources/updated',
  'notifications/resources/list_changed',
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/tasks/status',
  'notifications/elicitation/complete',
]);

/** Requests a server may send a client. Anything else from an upstream is answered -32601 and not relayed. */
export const SERVER_REQUESTS: ReadonlySet<string> = new Set([
  'ping',
  'sampling/createMessage',
  'elicitation/create',
  'roots/list',
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
]);

/** Requests a client may send a server. Others are a server's own extensions, which no policy rule can check. */
export const CLIENT_REQUESTS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
]);

/** A method name as it may appear in a log line: a dropped message's method is the sender's, of any length. */
export function loggedMethod(method: string): string {
  return method.length > 100 ? `${method.slice(0, 100)}…` : method;
}
