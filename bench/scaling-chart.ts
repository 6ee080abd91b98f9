// scaling-chart — draws the scaling benchmark's figures as one self-contained SVG:
// left, jobs per minute against the number of workers (with and without conflicts);
// right, where the workers' time went per landed job (stacked bars). Pure: data in,
// SVG text out. Used by bench/scaling.bench.ts.

export interface ScalingPoint {
  workers: number;
  conflicts: boolean;
  jobsPerMin: number;
  /** worker time per landed job, ms */
  perJob: { agentCli: number; otherCoven: number; land: number; dispatchLockWait: number };
  dispatchP50: number;
  landP50: number;
}

const W = 960;
const H = 460;
const parts = [
  { key: 'agentCli', label: 'agent CLI (the fake’s own process)', color: '#8fb8de' },
  { key: 'otherCoven', label: 'coven’s own work (prompt, state, runner)', color: '#f2c14e' },
  { key: 'land', label: 'land (rebase, land lock, fast-forward, resolve)', color: '#f78154' },
  { key: 'dispatchLockWait', label: 'waiting for the dispatch lock', color: '#b33f62' },
] as const;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const text = (x: number, y: number, s: string, extra = '') => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${esc(s)}</text>`;

/** A rounded axis maximum: 1, 2 or 5 × 10^k, at least `v`. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].map((m) => m * p).find((m) => m >= v) ?? 10 * p);
}

export function scalingChart(points: ScalingPoint[], o: { jobs: number; note: string }): string {
  const ns = [...new Set(points.map((p) => p.workers))].sort((a, b) => a - b);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" fill="#222">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(text(20, 24, `coven scaling: ${o.jobs} jobs, 1–${ns[ns.length - 1]} workers`, 'font-size="16" font-weight="bold"'));
  out.push(text(20, 42, o.note, 'fill="#555"'));

  // left: jobs per minute
  const L = { x: 60, y: 70, w: 330, h: 290 };
  const yMax = niceMax(Math.max(...points.map((p) => p.jobsPerMin)) * 1.05);
  const xAt = (i: number) => L.x + (ns.length === 1 ? L.w / 2 : (i / (ns.length - 1)) * L.w);
  const yAt = (v: number) => L.y + L.h - (v / yMax) * L.h;
  out.push(text(L.x, L.y - 10, 'jobs landed per minute', 'font-weight="bold"'));
  for (let k = 0; k <= 5; k++) {
    const v = (yMax * k) / 5;
    out.push(`<line x1="${L.x}" x2="${L.x + L.w}" y1="${yAt(v)}" y2="${yAt(v)}" stroke="#e5e5e5"/>`);
    out.push(text(L.x - 6, yAt(v) + 4, v.toFixed(0), 'text-anchor="end" fill="#555"'));
  }
  ns.forEach((n, i) => out.push(text(xAt(i), L.y + L.h + 18, String(n), 'text-anchor="middle"')));
  out.push(text(L.x + L.w / 2, L.y + L.h + 36, 'workers', 'text-anchor="middle" fill="#555"'));
  for (const [conflicts, color, label] of [
    [false, '#2a6f97', 'no conflicts'],
    [true, '#c44536', '1 job in 5 conflicts'],
  ] as const) {
    const series = ns.map((n, i) => ({ i, p: points.find((p) => p.workers === n && p.conflicts === conflicts) })).filter((s) => s.p);
    if (series.length === 0) continue;
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2.5" points="${series.map((s) => `${xAt(s.i).toFixed(1)},${yAt(s.p!.jobsPerMin).toFixed(1)}`).join(' ')}"/>`);
    for (const s of series) {
      out.push(`<circle cx="${xAt(s.i).toFixed(1)}" cy="${yAt(s.p!.jobsPerMin).toFixed(1)}" r="4" fill="${color}"/>`);
      out.push(text(xAt(s.i) + 6, yAt(s.p!.jobsPerMin) + (conflicts ? 14 : -6), s.p!.jobsPerMin.toFixed(0), `fill="${color}" font-size="11"`));
    }
    const ly = L.y + 8 + (conflicts ? 18 : 0);
    out.push(`<line x1="${L.x + 10}" x2="${L.x + 30}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"/>`);
    out.push(text(L.x + 36, ly + 4, label, `fill="${color}"`));
  }

  // right: worker time per landed job, stacked; two bars per N (no conflicts | conflicts)
  const R = { x: 500, y: 70, w: 430, h: 290 };
  const total = (p: ScalingPoint) => parts.reduce((a, part) => a + p.perJob[part.key], 0);
  const rMax = niceMax(Math.max(...points.map(total)) / 1000) * 1000;
  const rY = (ms: number) => R.y + R.h - (ms / rMax) * R.h;
  out.push(text(R.x, R.y - 10, 'worker time per landed job (seconds)', 'font-weight="bold"'));
  for (let k = 0; k <= 5; k++) {
    const v = (rMax * k) / 5;
    out.push(`<line x1="${R.x}" x2="${R.x + R.w}" y1="${rY(v)}" y2="${rY(v)}" stroke="#e5e5e5"/>`);
    out.push(text(R.x - 6, rY(v) + 4, (v / 1000).toFixed(v < 5000 && rMax < 5000 ? 1 : 0), 'text-anchor="end" fill="#555"'));
  }
  const group = R.w / ns.length;
  const bar = Math.min(26, group / 3);
  ns.forEach((n, i) => {
    const cx = R.x + group * i + group / 2;
    out.push(text(cx, R.y + R.h + 18, String(n), 'text-anchor="middle"'));
    for (const conflicts of [false, true]) {
      const p = points.find((q) => q.workers === n && q.conflicts === conflicts);
      if (!p) continue;
      const x = conflicts ? cx + 2 : cx - bar - 2;
      let acc = 0;
      for (const part of parts) {
        const v = p.perJob[part.key];
        if (v <= 0) continue;
        const y0 = rY(acc + v);
        out.push(`<rect x="${x.toFixed(1)}" y="${y0.toFixed(1)}" width="${bar.toFixed(1)}" height="${(rY(acc) - y0).toFixed(1)}" fill="${part.color}"${conflicts ? ' fill-opacity="0.65" stroke="#c44536" stroke-width="0.8"' : ''}/>`);
        acc += v;
      }
    }
  });
  out.push(text(R.x + R.w / 2, R.y + R.h + 36, 'workers (left bar: no conflicts · right bar, outlined: 1 job in 5 conflicts)', 'text-anchor="middle" fill="#555"'));
  parts.forEach((part, k) => {
    const x = 60 + (k % 2) * 440;
    const y = H - 30 + Math.floor(k / 2) * 16;
    out.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${part.color}"/>`);
    out.push(text(x + 18, y, part.label));
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
