// The package's public surface: the gateway and the config loader, named one by one.
export { loadConfigFile, parseConfig } from './config/load.js';
export { type GatewayConfig, resolveConfig, type UpstreamSpec } from './config/resolve.js';
export { configSchema } from './config/schema.js';
export { ConfigError, type Problem, WardenError } from './errors.js';
export { createGateway, type Gateway, type GatewayOptions } from './gateway.js';
export { VERSION } from './version.js';
