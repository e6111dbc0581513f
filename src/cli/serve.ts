// `warden serve`: runs the gateway over HTTP until SIGTERM/SIGINT, then drains and exits 0.
import { createGateway } from '../gateway.js';
import { createLogger } from '../log.js';
import {
  type ConfigFlags,
  EXIT_OK,
  fail,
  keepServingOnFaults,
  loadGatewayConfig,
  logConfigWarnings,
} from './common.js';

export async function serve(flags: ConfigFlags): Promise<void> {
  try {
    const config = loadGatewayConfig(flags);
    const log = createLogger(config.logLevel);
    logConfigWarnings(config, log);
    keepServingOnFaults(log);
    const gateway = await createGateway(config, { log, checkUpstreams: true });
    const { mcpUrl, adminUrl } = await gateway.listen();
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'draining');
      gateway.close().then(
        () => process.exit(EXIT_OK),
        (err) => fail(err),
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    log.info({ upstreams: config.upstreams.map((u) => u.id) }, 'ready');
    process.stderr.write(`listening mcp=${mcpUrl} admin=${adminUrl}\n`);
  } catch (err) {
    fail(err);
  }
}
