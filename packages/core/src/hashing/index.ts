// Public exports of hashing/ (filled in by its implementation).
export {};
