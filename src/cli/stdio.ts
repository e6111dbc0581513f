// `warden stdio`: serves one agent over stdin/stdout for clients that spawn commands; logs go to stderr only.
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

export async function stdio(flags: ConfigFlags & { server?: string; grant?: string }): Promise<void> {
  try {
    const config = loadGatewayConfig(flags);
    const log = createLogger(config.logLevel);
    logConfigWarnings(config, log);
    keepServingOnFaults(log);
    const gateway = await createGateway(config, { log });
    const identity = await gateway.stdioIdentity(flags.grant, process.env.WARDEN_TOKEN).catch(async (err) => {
      await gateway.close(0);
      throw err;
    });
    const stop = () => gateway.close(2000).then(() => process.exit(EXIT_OK));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    await gateway.serveStdio(process.stdin, process.stdout, flags.server, identity);
    await gateway.close(2000);
    process.exit(EXIT_OK);
  } catch (err) {
    fail(err);
  }
}
