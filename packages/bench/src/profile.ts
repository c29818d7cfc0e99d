/**
 * Where relayd's time goes: a V8 CPU profile (`node --cpu-prof`, the
 * `.cpuprofile` JSON Chrome DevTools reads) summarised as self time per
 * function and per area of the code. Self time of a node is the sum of the
 * sampling intervals (`timeDeltas`) of the samples taken in it; functions
 * are merged by name and location, areas by where the code lives
 * (`packages/<name>`, Node's internals, node_modules, V8's own buckets
 * such as "(garbage collector)"). "(idle)" is left out of the total: it is
 * the process waiting, not working. A window (in the profile's own time
 * base, CLOCK_MONOTONIC microseconds, the same as `process.hrtime`) keeps
 * start-up and shutdown out of the picture.
 */
import type { ProfileSummary } from './results.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber?: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export function isCpuProfile(value: unknown): value is CpuProfile {
  const o = value as Partial<CpuProfile> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    Array.isArray(o.nodes) &&
    Array.isArray(o.samples) &&
    Array.isArray(o.timeDeltas) &&
    o.samples.length === o.timeDeltas.length
  );
}

/** The area a frame's code belongs to. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /\/packages\/([^/]+)\//.exec(url);
  if (pkg) return `@relayd/${pkg[1]}`;
  const module = /\/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (module) return module[1]!;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url;
}

/** Where a frame is, shortened to what a reader needs: `packages/net/src/x.ts:12` or `node:internal/...:3`. */
function locationOf(frame: CallFrame): string {
  if (frame.url === '') return '';
  const short = frame.url.replace(/^file:\/\/.*?\/packages\//, 'packages/').replace(/\/dist\/src\//, '/src/');
  return `${short.replace(/\.js$/, '.ts')}:${frame.lineNumber + 1}`;
}

/**
 * Self time by function and by area over one or more profiles (a forked
 * worker writes its own profile next to the supervisor's).
 */
export function summarizeCpuProfiles(
  profiles: readonly CpuProfile[],
  workload: string,
  file: string,
  options: {
    readonly topN?: number;
    /** Only samples taken in this span (CLOCK_MONOTONIC microseconds, the profile's own time base). */
    readonly window?: { readonly fromUs: number; readonly toUs: number };
  } = {},
): ProfileSummary {
  const topN = options.topN ?? 15;
  const window = options.window;
  const selfByFrame: Array<{ frame: CallFrame; us: number }> = [];
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const selfUs = new Map<number, number>();
    let at = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      const delta = profile.timeDeltas[i] ?? 0;
      at += delta;
      if (window && (at < window.fromUs || at > window.toUs)) continue;
      const id = profile.samples[i]!;
      selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
    }
    for (const [id, us] of selfUs) {
      const node = byId.get(id);
      if (node && us > 0) selfByFrame.push({ frame: node.callFrame, us });
    }
  }
  const byFunction = new Map<string, { function: string; location: string; us: number }>();
  const byArea = new Map<string, number>();
  let totalUs = 0;
  for (const { frame, us } of selfByFrame) {
    if (frame.functionName === '(idle)') continue;
    totalUs += us;
    const name = frame.functionName || '(anonymous)';
    const location = locationOf(frame);
    const key = `${name}@${location}`;
    const entry = byFunction.get(key) ?? { function: name, location, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
    const area = areaOf(frame);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const pct = (us: number) => (totalUs > 0 ? Math.round((us / totalUs) * 1000) / 10 : 0);
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    workload,
    file,
    totalMs: ms(totalUs),
    top: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ function: e.function, location: e.location, selfMs: ms(e.us), selfPercent: pct(e.us) })),
    byArea: [...byArea.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([area, us]) => ({ area, selfMs: ms(us), selfPercent: pct(us) })),
  };
}
