// Public exports of chunking/ (filled in by its implementation).
export {};
