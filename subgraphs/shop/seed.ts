/**
 * Deterministic seed data shared by the example subgraphs, so the same ids line up across services
 * (a review's author is an accounts user, its product a products upc) without any service calling
 * another. Every run and every machine produces the same shop.
 */

export const USER_COUNT = 40;
export const PRODUCT_COUNT = 30;
export const REVIEW_COUNT = 300;

/** mulberry32: a tiny seeded PRNG; good enough for fixtures, never for secrets. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

export const userId = (n: number): string => `u${n}`;
export const productUpc = (n: number): string => `p${String(n).padStart(3, '0')}`;
export const reviewId = (n: number): string => `r${n}`;
