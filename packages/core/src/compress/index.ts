// Public exports of compress/ (filled in by its implementation).
export {};
