/**
 * List-then-watch of one kind of object, keeping only its slim form (the
 * handlers receive each object once and keep what they need): the
 * informer pattern of client-go, over @kubernetes/client-node's Watch.
 *
 * Recovers on its own: a watch the server ends is resumed from the last
 * resourceVersion; 410 Gone (the version is too old) means a fresh list;
 * errors back off exponentially with jitter; and a watch that goes silent
 * (no event and no bookmark for `silentMs`: a dead connection behind a
 * load balancer) is abandoned for a fresh list. Never throws into the
 * caller: state and counters say how it is doing.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';

/** One page of a list call, as the generated API returns it. */
export interface ListPage<T> {
  items: T[];
  metadata?: { resourceVersion?: string; _continue?: string };
}

export interface ListWatchSpec<T> {
  /** For logs and metrics: "pods", "services"... */
  readonly kind: string;
  /** The watch path, e.g. /api/v1/pods. */
  readonly path: string;
  readonly fieldSelector?: string;
  list(params: { fieldSelector?: string; limit: number; _continue?: string }): Promise<ListPage<T>>;
  /** The object's identity (its UID, or namespace/name). */
  keyOf(obj: T): string;
  upsert(obj: T): void;
  remove(obj: T): void;
  /** After a full list: every key that exists now (the rest were deleted meanwhile). */
  retain(keys: ReadonlySet<string>): void;
}

export type ListWatchState = 'idle' | 'listing' | 'watching' | 'backoff' | 'stopped';

export interface ListWatchOptions {
  /** A watch with no event and no bookmark for this long is restarted with a list (ms). */
  readonly silentMs?: number;
  /** Page size of list calls: bounds the memory of a relist in a large cluster. */
  readonly pageSize?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Problems, already worded for a user; the caller rate-limits. */
  readonly onProblem?: (message: string) => void;
}

export class SlimListWatch<T> {
  state: ListWatchState = 'idle';
  readonly counters = { lists: 0, watches: 0, events: 0, bookmarks: 0, gone: 0, errors: 0, silentRestarts: 0 };
  /** When the last list completed (ms), 0 before. */
  syncedAt = 0;
  private readonly spec: ListWatchSpec<T>;
  private readonly watch: Watch;
  private readonly silentMs: number;
  private readonly pageSize: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly onProblem: (message: string) => void;
  private resourceVersion = '';
  private backoffMs: number;
  private abort: AbortController | undefined;
  private lastHeardAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  /** Bumped per watch: callbacks of an abandoned watch are ignored. */
  private generation = 0;
  private firstSync: Promise<void>;
  private resolveFirstSync!: () => void;

  constructor(kc: KubeConfig, spec: ListWatchSpec<T>, options: ListWatchOptions = {}) {
    this.spec = spec;
    this.watch = new Watch(kc);
    this.silentMs = options.silentMs ?? 5 * 60_000;
    this.pageSize = options.pageSize ?? 500;
    this.minBackoffMs = options.minBackoffMs ?? 1_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.onProblem = options.onProblem ?? (() => {});
    this.backoffMs = this.minBackoffMs;
    this.firstSync = new Promise((resolve) => (this.resolveFirstSync = resolve));
  }

  /** Starts; the promise settles after the first complete list, or `timeoutMs`, whichever is first. */
  start(timeoutMs = 10_000): Promise<boolean> {
    if (this.state === 'idle') {
      this.watchdog = setInterval(() => this.checkSilence(), Math.max(1_000, Math.min(30_000, this.silentMs / 4)));
      this.watchdog.unref();
      void this.relist();
    }
    let timeout: NodeJS.Timeout | undefined;
    return Promise.race([
      this.firstSync.then(() => true),
      new Promise<boolean>((resolve) => {
        timeout = setTimeout(() => resolve(false), timeoutMs);
        timeout.unref();
      }),
    ]).finally(() => clearTimeout(timeout));
  }

  get kind(): string {
    return this.spec.kind;
  }

  stop(): void {
    this.state = 'stopped';
    this.generation++;
    this.abort?.abort();
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
  }

  private async relist(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'listing';
    this.generation++;
    this.abort?.abort();
    const generation = this.generation;
    try {
      const keys = new Set<string>();
      let cont: string | undefined;
      let rv = '';
      do {
        const page = await this.spec.list({ ...(this.spec.fieldSelector ? { fieldSelector: this.spec.fieldSelector } : {}), limit: this.pageSize, ...(cont ? { _continue: cont } : {}) });
        if (generation !== this.generation) return;
        for (const item of page.items) {
          keys.add(this.spec.keyOf(item));
          this.spec.upsert(item);
        }
        rv = page.metadata?.resourceVersion ?? rv;
        cont = page.metadata?._continue || undefined;
      } while (cont);
      this.spec.retain(keys);
      this.counters.lists++;
      this.resourceVersion = rv;
      this.syncedAt = Date.now();
      this.backoffMs = this.minBackoffMs;
      this.resolveFirstSync();
      void this.startWatch();
    } catch (err) {
      if (generation !== this.generation) return;
      this.fail(`listing ${this.spec.kind} failed: ${describe(err)}`, () => void this.relist());
    }
  }

  private async startWatch(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'watching';
    const generation = ++this.generation;
    this.lastHeardAt = Date.now();
    this.counters.watches++;
    const params: Record<string, string | number | boolean | undefined> = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      // The server ends the watch within this: a bounded life, spread over time.
      timeoutSeconds: 300 + Math.floor(Math.random() * 300),
      ...(this.spec.fieldSelector ? { fieldSelector: this.spec.fieldSelector } : {}),
    };
    try {
      this.abort = await this.watch.watch(this.spec.path, params, (phase, obj) => this.onEvent(generation, phase, obj), (err) => this.onDone(generation, err));
    } catch (err) {
      if (generation !== this.generation) return;
      this.fail(`watching ${this.spec.kind} failed: ${describe(err)}`, () => void this.relist());
    }
  }

  private onEvent(generation: number, phase: string, obj: unknown): void {
    if (generation !== this.generation) return;
    this.lastHeardAt = Date.now();
    const o = obj as { metadata?: { resourceVersion?: string }; code?: number };
    switch (phase) {
      case 'ADDED':
      case 'MODIFIED':
        this.counters.events++;
        this.spec.upsert(obj as T);
        break;
      case 'DELETED':
        this.counters.events++;
        this.spec.remove(obj as T);
        break;
      case 'BOOKMARK':
        this.counters.bookmarks++;
        break;
      case 'ERROR':
        if (o.code === 410) {
          // The version is too old to resume from: start over with a list.
          this.counters.gone++;
          void this.relist();
          return;
        }
        this.fail(`watch of ${this.spec.kind} reported an error: ${describe(obj)}`, () => void this.relist());
        return;
      default:
        return;
    }
    const rv = o.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
  }

  private onDone(generation: number, err: unknown): void {
    if (generation !== this.generation || this.state === 'stopped') return;
    if (err && isGone(err)) {
      this.counters.gone++;
      void this.relist();
      return;
    }
    if (err) {
      this.fail(`watch of ${this.spec.kind} ended: ${describe(err)}`, () => void this.startWatch());
      return;
    }
    // The server ended it (timeoutSeconds): resume where it left off.
    void this.startWatch();
  }

  private checkSilence(): void {
    if (this.state !== 'watching' || Date.now() - this.lastHeardAt < this.silentMs) return;
    this.counters.silentRestarts++;
    this.onProblem(`watch of ${this.spec.kind} silent for ${Math.round(this.silentMs / 1000)} s: listing again`);
    void this.relist();
  }

  private fail(message: string, retry: () => void): void {
    this.counters.errors++;
    this.state = 'backoff';
    this.generation++;
    this.abort?.abort();
    const delay = Math.round(this.backoffMs * (0.5 + Math.random()));
    this.onProblem(`${message} (retrying in ${(delay / 1000).toFixed(1)} s)`);
    this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs * 2);
    clearTimeout(this.timer);
    this.timer = setTimeout(retry, delay);
    this.timer.unref();
  }
}

function isGone(err: unknown): boolean {
  const e = err as { statusCode?: number; code?: number } | undefined;
  return e?.statusCode === 410 || e?.code === 410;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0]!.slice(0, 300);
  const o = err as { message?: string; reason?: string; code?: number } | undefined;
  if (o && typeof o === 'object') return [o.code, o.reason, o.message].filter((x) => x !== undefined).join(' ').slice(0, 300) || 'unknown error';
  return String(err).slice(0, 300);
}
