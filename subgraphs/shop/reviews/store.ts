import { PRODUCT_COUNT, REVIEW_COUNT, USER_COUNT, pick, productUpc, reviewId, seededRandom, userId } from '../seed.ts';

export interface Review {
  id: string;
  body: string;
  rating: number;
  authorId: string;
  upc: string;
  /** Monotonic, for "newest first" ordering. */
  createdSeq: number;
}

const OPINIONS = [
  'Does exactly what it says.',
  'Arrived late but works well.',
  'Would buy again.',
  'Not worth the price.',
  'My cat loves it.',
  'Better than the reviews suggested.',
  'Broke after a week.',
];

function seedReviews(): Review[] {
  const random = seededRandom(3);
  const reviews: Review[] = [];
  for (let n = 1; n <= REVIEW_COUNT; n++) {
    reviews.push({
      id: reviewId(n),
      body: pick(random, OPINIONS),
      rating: 1 + Math.floor(random() * 5),
      authorId: userId(1 + Math.floor(random() * USER_COUNT)),
      upc: productUpc(1 + Math.floor(random() * PRODUCT_COUNT)),
      createdSeq: n,
    });
  }
  return reviews;
}

const newestFirst = (a: Review, b: Review): number => b.createdSeq - a.createdSeq;

/** The reviews data layer; batch-shaped, with call counters for tests. */
export class ReviewsStore {
  readonly calls = { findReviewsByIds: 0, findReviewsByAuthorIds: 0, findReviewsByUpcs: 0, createReview: 0, deleteReview: 0 };
  readonly #reviews = new Map<string, Review>(seedReviews().map((review) => [review.id, review]));
  #seq = REVIEW_COUNT;

  async findReviewsByIds(ids: readonly string[]): Promise<(Review | undefined)[]> {
    this.calls.findReviewsByIds++;
    return ids.map((id) => this.#reviews.get(id));
  }

  /** For each author id, that author's reviews, newest first. */
  async findReviewsByAuthorIds(authorIds: readonly string[]): Promise<Review[][]> {
    this.calls.findReviewsByAuthorIds++;
    return this.#groupBy(authorIds, (review) => review.authorId);
  }

  /** For each upc, that product's reviews, newest first. */
  async findReviewsByUpcs(upcs: readonly string[]): Promise<Review[][]> {
    this.calls.findReviewsByUpcs++;
    return this.#groupBy(upcs, (review) => review.upc);
  }

  async createReview(input: { authorId: string; upc: string; body: string; rating: number }): Promise<Review> {
    this.calls.createReview++;
    const seq = ++this.#seq;
    const review: Review = { id: reviewId(seq), createdSeq: seq, ...input };
    this.#reviews.set(review.id, review);
    return review;
  }

  async deleteReview(id: string): Promise<boolean> {
    this.calls.deleteReview++;
    return this.#reviews.delete(id);
  }

  #groupBy(keys: readonly string[], keyOf: (review: Review) => string): Review[][] {
    const wanted = new Map<string, Review[]>(keys.map((key) => [key, []]));
    for (const review of this.#reviews.values()) wanted.get(keyOf(review))?.push(review);
    return keys.map((key) => (wanted.get(key) ?? []).sort(newestFirst));
  }
}
