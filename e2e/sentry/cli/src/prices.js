const PRICES = { apple: 3, orange: 4 };

export function priceOf(sku) {
  if (!(sku in PRICES)) {
    throw new Error(`no price for ${sku}`);
  }
  return PRICES[sku];
}
