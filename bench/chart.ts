/**
 * The bench's figures as a PNG chart: req/s and p99 per gateway and query, grouped bars, two panels side by
 * side. `npm run bench` calls writeBenchChart with the results it writes to BENCH_OUT; `npm run bench:chart
 * -- <results.json> [out.png]` draws one from a results file already written (default out: docs/img/bench.png).
 *
 * Drawn with @napi-rs/canvas (Skia, prebuilt per platform as npm optional dependencies: nothing is
 * downloaded or compiled at install time). Text needs a TrueType font on the machine: Skia finds the
 * system's through fontconfig, and registerFonts() below also loads DejaVu Sans (Debian fonts-dejavu-core)
 * or Liberation Sans (fonts-liberation, which chromium pulls in) by path. Without either the bars are still
 * drawn, but not the text.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createCanvas, GlobalFonts, type SKRSContext2D } from '@napi-rs/canvas';

export type Summary = { rps: number; p50: number; p99: number };
/** The part of bench/run.ts's results (BENCH_OUT) that the chart reads. */
export type BenchResults = {
  date?: string;
  rounds?: number;
  durationSeconds?: number;
  connections?: number;
  tokens?: number;
  pinned?: boolean;
  table: Array<{ query: string } & { [gateway: string]: Summary | unknown }>;
};

/** One colour per gateway, in this order; the unit test looks for each colour's pixels. */
export const SERIES = [
  { gateway: 'baseline', label: 'baseline (plain Apollo Gateway)', color: '#8a8f98' },
  { gateway: 'frontdesk', label: 'frontdesk', color: '#1f6fd1' },
  { gateway: 'observed', label: 'observed (metrics on, tracing 10 %)', color: '#e8820c' },
] as const;
const FONT = '"DejaVu Sans", "Liberation Sans", sans-serif';
const FONT_FILES = [
  ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'],
  ['/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf', '/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf'],
];

let fontsChecked = false;
function registerFonts(): void {
  if (fontsChecked) return;
  fontsChecked = true;
  if (GlobalFonts.has('DejaVu Sans') || GlobalFonts.has('Liberation Sans')) return;
  for (const files of FONT_FILES) for (const file of files) if (existsSync(file)) GlobalFonts.registerFromPath(file);
  if (!GlobalFonts.has('DejaVu Sans') && !GlobalFonts.has('Liberation Sans') && GlobalFonts.families.length === 0) {
    process.stderr.write('bench chart: no font found, the chart will have no text (apt-get install fonts-dejavu-core)\n');
  }
}

const isSummary = (value: unknown): value is Summary => typeof value === 'object' && value !== null && typeof (value as Summary).rps === 'number' && typeof (value as Summary).p99 === 'number';

/** A round axis maximum and its step: 1, 2, 2.5 or 5 × 10^n, about five ticks. */
function niceAxis(max: number): { max: number; step: number } {
  if (!(max > 0)) return { max: 1, step: 0.2 };
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  return { max: Math.ceil((max * 1.08) / step) * step, step };
}

const formatValue = (value: number) => (value >= 100 ? String(Math.round(value)) : String(+value.toFixed(1)));

type Panel = { x: number; y: number; width: number; height: number; title: string; axisLabel: string; metric: 'rps' | 'p99' };

function drawPanel(g: SKRSContext2D, panel: Panel, results: BenchResults, series: ReadonlyArray<(typeof SERIES)[number]>): void {
  const values = results.table.flatMap((row) => series.map((s) => row[s.gateway]).filter(isSummary).map((v) => v[panel.metric]));
  const axis = niceAxis(Math.max(0, ...values));
  const plot = { left: panel.x + 78, top: panel.y + 34, right: panel.x + panel.width - 12, bottom: panel.y + panel.height - 52 };
  const scale = (value: number) => plot.bottom - (value / axis.max) * (plot.bottom - plot.top);

  g.fillStyle = '#1a1a1a';
  g.font = `bold 17px ${FONT}`;
  g.textAlign = 'center';
  g.textBaseline = 'alphabetic';
  g.fillText(panel.title, (plot.left + plot.right) / 2, panel.y + 18);

  // Grid lines and y tick labels.
  g.font = `13px ${FONT}`;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  g.lineWidth = 1;
  for (let tick = 0; tick <= axis.max + axis.step / 1000; tick += axis.step) {
    const y = Math.round(scale(tick)) + 0.5;
    g.strokeStyle = tick === 0 ? '#333333' : '#e3e3e3';
    g.beginPath();
    g.moveTo(plot.left, y);
    g.lineTo(plot.right, y);
    g.stroke();
    g.fillStyle = '#444444';
    g.fillText(formatValue(tick), plot.left - 8, y);
  }
  g.strokeStyle = '#333333';
  g.beginPath();
  g.moveTo(plot.left + 0.5, plot.top);
  g.lineTo(plot.left + 0.5, plot.bottom);
  g.stroke();

  // Y axis label, rotated.
  g.save();
  g.translate(panel.x + 18, (plot.top + plot.bottom) / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.fillStyle = '#1a1a1a';
  g.font = `14px ${FONT}`;
  g.fillText(panel.axisLabel, 0, 0);
  g.restore();

  // One group of bars per query.
  const groupWidth = (plot.right - plot.left) / Math.max(1, results.table.length);
  const barWidth = Math.min(70, (groupWidth * 0.72) / Math.max(1, series.length));
  results.table.forEach((row, index) => {
    const center = plot.left + groupWidth * (index + 0.5);
    const start = center - (barWidth * series.length) / 2;
    series.forEach((s, i) => {
      const summary = row[s.gateway];
      if (!isSummary(summary)) return;
      const value = summary[panel.metric];
      const x = Math.round(start + i * barWidth + 2);
      const top = Math.round(scale(value));
      g.fillStyle = s.color;
      g.fillRect(x, top, Math.round(barWidth - 4), Math.round(plot.bottom) - top);
      g.fillStyle = '#1a1a1a';
      g.font = `12px ${FONT}`;
      g.textAlign = 'center';
      g.textBaseline = 'bottom';
      g.fillText(formatValue(value), x + (barWidth - 4) / 2, top - 3);
    });
    g.fillStyle = '#1a1a1a';
    g.font = `14px ${FONT}`;
    g.textAlign = 'center';
    g.textBaseline = 'top';
    g.fillText(row.query, center, plot.bottom + 8);
  });
  g.font = `13px ${FONT}`;
  g.fillStyle = '#555555';
  g.textBaseline = 'top';
  g.fillText('query', (plot.left + plot.right) / 2, plot.bottom + 30);
}

/**
 * The chart as a PNG. The gateways are those of SERIES present in the table (the rows' other summaries,
 * `ratio`, `observedVsFrontdesk`…, are ratios, not gateways).
 */
export function renderBenchChart(results: BenchResults, options: { width?: number; height?: number; title?: string } = {}): Buffer {
  registerFonts();
  const width = options.width ?? 1200;
  const height = options.height ?? 560;
  const series = SERIES.filter((s) => results.table.some((row) => isSummary(row[s.gateway])));

  const canvas = createCanvas(width, height);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);

  g.fillStyle = '#111111';
  g.textAlign = 'center';
  g.textBaseline = 'alphabetic';
  g.font = `bold 22px ${FONT}`;
  g.fillText(options.title ?? 'frontdesk vs plain Apollo Gateway — npm run bench', width / 2, 34);
  const about = [
    results.date ? results.date.slice(0, 10) : undefined,
    results.rounds && results.durationSeconds ? `medians of ${results.rounds} round${results.rounds === 1 ? '' : 's'} × ${results.durationSeconds} s` : undefined,
    results.connections ? `${results.connections} connections` : undefined,
    results.tokens ? `${results.tokens} tokens` : undefined,
    results.pinned ? 'gateway pinned to one core' : undefined,
  ].filter(Boolean);
  g.font = `14px ${FONT}`;
  g.fillStyle = '#555555';
  if (about.length) g.fillText(about.join(' · '), width / 2, 58);

  // Legend, centred on one row.
  g.font = `14px ${FONT}`;
  const swatch = 14;
  const widths = series.map((s) => swatch + 8 + g.measureText(s.label).width + 28);
  let x = (width - widths.reduce((a, b) => a + b, 0) + 28) / 2;
  series.forEach((s, i) => {
    g.fillStyle = s.color;
    g.fillRect(Math.round(x), 76, swatch, swatch);
    g.fillStyle = '#1a1a1a';
    g.textAlign = 'left';
    g.textBaseline = 'middle';
    g.fillText(s.label, x + swatch + 8, 76 + swatch / 2 + 1);
    x += widths[i] as number;
  });

  const top = 106;
  const half = width / 2;
  drawPanel(g, { x: 10, y: top, width: half - 20, height: height - top - 6, title: 'Throughput (higher is better)', axisLabel: 'requests per second', metric: 'rps' }, results, series);
  drawPanel(g, { x: half + 10, y: top, width: half - 20, height: height - top - 6, title: 'p99 latency (lower is better)', axisLabel: 'p99 latency, ms', metric: 'p99' }, results, series);
  return canvas.toBuffer('image/png');
}

/** Renders the chart and writes it to `path` (creating its directory); returns the path. */
export function writeBenchChart(results: BenchResults, path: string, options?: Parameters<typeof renderBenchChart>[1]): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderBenchChart(results, options));
  return path;
}

// `npm run bench:chart -- <results.json> [out.png]`
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [input, output = fileURLToPath(new URL('../docs/img/bench.png', import.meta.url))] = process.argv.slice(2);
  if (!input) {
    process.stderr.write('usage: npm run bench:chart -- <results.json> [out.png]\n');
    process.exit(2);
  }
  const results = JSON.parse(readFileSync(input, 'utf8')) as BenchResults;
  if (!Array.isArray(results.table)) throw new Error(`${input}: no "table" array (a BENCH_OUT results file of npm run bench is expected)`);
  process.stdout.write(`chart: ${writeBenchChart(results, output)}\n`);
}
