// Public exports of format/ (filled in by its implementation).
export {};
