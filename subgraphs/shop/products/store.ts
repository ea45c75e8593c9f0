import { PRODUCT_COUNT, pick, productUpc, seededRandom } from '../seed.ts';

export interface Product {
  upc: string;
  name: string;
  /** Cents. */
  price: number;
  inStock: boolean;
  /** Cents; internal. */
  costPrice: number;
  /** 1 is the best seller. */
  rank: number;
}

const ADJECTIVES = ['Quiet', 'Sturdy', 'Tiny', 'Vintage', 'Electric', 'Folding', 'Wooden', 'Smart'];
const NOUNS = ['Lamp', 'Chair', 'Kettle', 'Desk', 'Backpack', 'Keyboard', 'Teapot', 'Bicycle', 'Clock'];

function seedProducts(): Product[] {
  const random = seededRandom(2);
  const products: Product[] = [];
  for (let n = 1; n <= PRODUCT_COUNT; n++) {
    const price = 500 + Math.floor(random() * 20_000);
    products.push({
      upc: productUpc(n),
      name: `${pick(random, ADJECTIVES)} ${pick(random, NOUNS)}`,
      price,
      inStock: random() > 0.2,
      costPrice: Math.floor(price * (0.4 + random() * 0.3)),
      rank: n,
    });
  }
  return products;
}

/** The products data layer; batch-shaped, with call counters for tests. */
export class ProductsStore {
  readonly calls = { findProductsByUpcs: 0, topProducts: 0 };
  readonly #products = new Map<string, Product>(seedProducts().map((product) => [product.upc, product]));

  async findProductsByUpcs(upcs: readonly string[]): Promise<(Product | undefined)[]> {
    this.calls.findProductsByUpcs++;
    return upcs.map((upc) => this.#products.get(upc));
  }

  async topProducts(first: number): Promise<Product[]> {
    this.calls.topProducts++;
    return [...this.#products.values()].sort((a, b) => a.rank - b.rank).slice(0, Math.max(0, first));
  }
}
