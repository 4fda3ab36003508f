/**
 * Calls back when files may have changed: certificate rotation without a
 * restart. Kubernetes updates a mounted Secret by swapping a symlink in the
 * file's directory, which a watch on the file itself never sees, so the
 * directories are watched; a slow poll covers filesystems where watches
 * miss events. The callback re-reads and compares contents itself.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

export interface FileWatch {
  close(): void;
}

const DEBOUNCE_MS = 200;

export function watchFiles(paths: readonly string[], onChange: () => void, pollMs = 30_000): FileWatch {
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, DEBOUNCE_MS);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(paths.map((p) => dirname(p)))) {
    try {
      const w = watch(dir, { persistent: false }, fire);
      w.on('error', () => {}); // a vanished directory is caught by the poll
      watchers.push(w);
    } catch {
      // not watchable (gone, no inotify): the poll below still notices changes
    }
  }
  const poll = setInterval(onChange, pollMs);
  poll.unref();
  return {
    close() {
      clearTimeout(timer);
      clearInterval(poll);
      for (const w of watchers) w.close();
    },
  };
}
