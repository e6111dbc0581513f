// Starts the audit store thread from the TypeScript source (tests, `node --import tsx`): tsx's loader first, so that
// the worker can import .ts files. Built code starts dist/store/sqlite-worker.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./sqlite-worker.ts');
