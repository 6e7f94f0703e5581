// Public exports of crypto/ (filled in by its implementation).
export {};
