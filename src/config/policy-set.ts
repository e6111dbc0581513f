// The policies in force, per server (the global one, then the server's own), reloaded when their files change.
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CompiledPolicy } from '../policy/types.js';
import { type LoadedPolicy, loadPolicyFile } from './policy-file.js';

const DEBOUNCE_MS = 100;

export class PolicySet {
  private global: LoadedPolicy | undefined;
  private readonly servers: Map<string, LoadedPolicy>;
  private readonly layers = new Map<string, readonly CompiledPolicy[]>();
  private readonly watchers: FSWatcher[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly listeners = new Set<(servers: ReadonlySet<string>) => void>();

  constructor(
    policies: { global: LoadedPolicy | undefined; servers: Map<string, LoadedPolicy> },
    private readonly serverIds: readonly string[],
    private readonly log: Logger,
  ) {
    this.global = policies.global;
    this.servers = new Map(policies.servers);
    this.rebuild();
  }

  /** The policies that apply to a server's calls, outermost first. Empty when none is configured. */
  layersFor(server: string): readonly CompiledPolicy[] {
    return this.layers.get(server) ?? [];
  }

  /** The policy files (or inline policies) behind `layersFor`, outermost first, as loaded now. */
  loadedFor(server: string): LoadedPolicy[] {
    const own = this.servers.get(server);
    return [...(this.global ? [this.global] : []), ...(own ? [own] : [])];
  }

  /** Whether the global policy or a server's carries `flows:` (then conversations keep their labels). */
  hasFlows(): boolean {
    if (this.global?.policy.flows !== undefined) return true;
    for (const p of this.servers.values()) if (p.policy.flows !== undefined) return true;
    return false;
  }

  /** The global policy and each server's own, as loaded now. */
  current(): { global: LoadedPolicy | undefined; servers: ReadonlyMap<string, LoadedPolicy> } {
    return { global: this.global, servers: this.servers };
  }

  /** Called with the servers whose tool visibility changed after a reload. */
  onVisibilityChange(listener: (servers: ReadonlySet<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private rebuild(): void {
    for (const id of this.serverIds) {
      const list: CompiledPolicy[] = [];
      if (this.global) list.push(this.global.policy);
      const own = this.servers.get(id);
      if (own) list.push(own.policy);
      this.layers.set(id, list);
    }
  }

  /** Watches every policy file; a change reloads it (debounced); an invalid file keeps the policy in force. */
  watch(): void {
    const files = new Set<string>();
    if (this.global?.file) files.add(this.global.file);
    for (const p of this.servers.values()) if (p.file) files.add(p.file);
    for (const file of files) {
      // Watch the directory: editors replace files by renaming, which ends a watch on the file itself.
      try {
        const w = watch(dirname(file), (_event, name) => {
          if (name === null || name.toString() === basename(file)) this.schedule(file);
        });
        w.on('error', (err) => this.log.warn({ file, err: err.message }, 'policy watch failed'));
        w.unref();
        this.watchers.push(w);
      } catch (err) {
        this.log.warn(
          { file, err: (err as Error).message },
          'cannot watch policy file; changes need a restart',
        );
      }
    }
  }

  private schedule(file: string): void {
    const t = this.timers.get(file);
    if (t) clearTimeout(t);
    const timer = setTimeout(() => {
      this.timers.delete(file);
      this.reload(file);
    }, DEBOUNCE_MS);
    timer.unref();
    this.timers.set(file, timer);
  }

  /** Reloads one policy file now. Returns false (and keeps the old policy) when the new one is invalid. */
  reload(file: string): boolean {
    let loaded: LoadedPolicy;
    try {
      loaded = loadPolicyFile(file);
    } catch (err) {
      const problems = err instanceof ConfigError ? err.message.split('\n') : [(err as Error).message];
      this.log.warn({ file, problems }, 'policy file invalid; keeping the policy in force');
      return false;
    }
    const changed = new Set<string>();
    if (this.global?.file === file) {
      if (this.global.policy.visibilityKey !== loaded.policy.visibilityKey)
        for (const id of this.serverIds) changed.add(id);
      this.global = loaded;
    }
    for (const [id, p] of this.servers) {
      if (p.file !== file) continue;
      if (p.policy.visibilityKey !== loaded.policy.visibilityKey) changed.add(id);
      this.servers.set(id, loaded);
    }
    this.rebuild();
    this.log.info({ file, format: loaded.policy.format }, 'policy reloaded');
    if (changed.size > 0) for (const l of this.listeners) l(changed);
    return true;
  }

  close(): void {
    for (const w of this.watchers) w.close();
    for (const t of this.timers.values()) clearTimeout(t);
    this.watchers.length = 0;
  }
}
