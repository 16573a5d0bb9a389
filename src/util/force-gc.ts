/**
 * A full garbage collection on demand. Node exposes `gc()` only when started with --expose-gc; the
 * flag can also be set at run time, after which a new context sees the function. Undefined where that
 * is refused (a host that locks V8's flags).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

export function exposedGc(): (() => void) | undefined {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  return gc ?? undefined;
}
