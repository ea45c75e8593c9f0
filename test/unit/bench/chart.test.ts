/**
 * bench/chart.ts: the bench's figures as a PNG a person can read. Decoded back with @napi-rs/canvas's own
 * image loader, so the test checks the pixels, not just the bytes.
 */
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { describe, expect, it } from 'vitest';
import { renderBenchChart, SERIES, type BenchResults } from '../../../bench/chart.ts';

const results: BenchResults = {
  date: '2026-11-30T12:00:00.000Z',
  rounds: 3,
  durationSeconds: 5,
  connections: 10,
  tokens: 200,
  pinned: true,
  table: [
    {
      query: 'single-subgraph',
      baseline: { rps: 325, p50: 20, p99: 170 },
      frontdesk: { rps: 579, p50: 13, p99: 82 },
      ratio: { rps: 1.78, p50: 0.65, p99: 0.48 },
      observed: { rps: 766, p50: 10, p99: 45 },
      observedVsFrontdesk: { rps: 1.32, p50: 0.77, p99: 0.55 },
    },
    {
      query: 'cross-subgraph',
      baseline: { rps: 82, p50: 85, p99: 339 },
      frontdesk: { rps: 216, p50: 41, p99: 174 },
      ratio: { rps: 2.63, p50: 0.48, p99: 0.51 },
      observed: { rps: 230, p50: 40, p99: 132 },
    },
  ],
};

async function pixels(png: Buffer): Promise<{ width: number; height: number; colours: Map<string, number> }> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const g = canvas.getContext('2d');
  g.drawImage(image, 0, 0);
  const data = g.getImageData(0, 0, image.width, image.height).data;
  const colours = new Map<string, number>();
  for (let i = 0; i < data.length; i += 4) {
    const hex = `#${[data[i], data[i + 1], data[i + 2]].map((c) => (c as number).toString(16).padStart(2, '0')).join('')}`;
    colours.set(hex, (colours.get(hex) ?? 0) + 1);
  }
  return { width: image.width, height: image.height, colours };
}

// The legend's swatch is 14 × 14 px; a bar of the smallest value in the fixture is far larger.
const LEGEND_SWATCH = 14 * 14;

describe('bench chart', () => {
  it('is a PNG of the requested size, not blank, with the bars of every gateway', async () => {
    const png = renderBenchChart(results, { width: 1000, height: 500 });
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.toString('ascii', 12, 16)).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1000, 500]);

    const { width, height, colours } = await pixels(png);
    expect([width, height]).toEqual([1000, 500]);
    // Text is antialiased: many shades. A blank or bars-only image has a handful.
    expect(colours.size).toBeGreaterThan(50);
    expect(colours.get('#ffffff') ?? 0).toBeLessThan(width * height * 0.95);
    for (const { gateway, color } of SERIES) {
      // Bars of both queries in both panels, well beyond the legend swatch.
      expect(colours.get(color) ?? 0, `${gateway} bars (${color})`).toBeGreaterThan(LEGEND_SWATCH + 2000);
    }
  });

  it('draws only the gateways the results hold, and not the ratios as bars', async () => {
    const withoutObserved: BenchResults = {
      ...results,
      table: results.table.map(({ observed: _o, observedVsFrontdesk: _r, ...row }) => row as BenchResults['table'][number]),
    };
    const { colours } = await pixels(renderBenchChart(withoutObserved));
    const colourOf = (gateway: string) => SERIES.find((s) => s.gateway === gateway)?.color as string;
    expect(colours.get(colourOf('observed')) ?? 0).toBe(0);
    expect(colours.get(colourOf('baseline')) ?? 0).toBeGreaterThan(LEGEND_SWATCH + 2000);
    expect(colours.get(colourOf('frontdesk')) ?? 0).toBeGreaterThan(LEGEND_SWATCH + 2000);
  });
});
