// The two eras of MCP that warden speaks (SPEC §12): the stateful one (initialize, sessions) and the stateless one.

/** The last stateful revision: `initialize`, `Mcp-Session-Id`, server-initiated requests. */
export const ERA_2025 = '2025-11-25';
/** The stateless revision: `server/discover`, `_meta` on every request, `InputRequiredResult` round trips. */
export const ERA_2026 = '2026-07-28';

export type Era = typeof ERA_2025 | typeof ERA_2026;
