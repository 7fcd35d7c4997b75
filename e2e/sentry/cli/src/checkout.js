import { priceOf } from "./prices.js";

export function checkout(cart) {
  let total = 0;
  for (const sku of cart) {
    total += priceOf(sku);
  }
  return total;
}
