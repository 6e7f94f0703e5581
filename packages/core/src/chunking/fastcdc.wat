;; FastCDC 2020 scanning kernel, hand-written WebAssembly text.
;;
;; Assembled by packages/core/scripts/build-wasm.mjs into fastcdc-wasm.ts (base64); a test
;; re-assembles this file and fails if the committed module differs. Edit here, then rebuild.
;;
;; What it computes (see /shared/notes/fastcdc-2020.md): the 64-bit gear hash, rolled two bytes per
;; step, with one AND per mask check:
;;   h = (h << 2) + GEAR_LS[b0]   cut before b0 when (h & mask_ls) == 0
;;   h = h + GEAR[b1]             cut before the byte after b1 when (h & mask) == 0
;; The scan loop regroups these additions (see scan) so that little of the work depends on the
;; previous hash; addition modulo 2^64 is associative and commutative, so every hash value is
;; bit-for-bit the reference's.
;;
;; Memory layout (the memory is imported, fixed-size, owned by the JavaScript side):
;;   [0, 2048)     GEAR[256]    (seeded by init)
;;   [2048, 4096)  GEAR_LS[256] (computed by init)
;;   [4096, ...)   data window, managed by the caller
;;
;; State between calls: the running hash $h, so a scan can stop at the end of the available data
;; and resume later (streaming) with identical results.
(module
  (import "env" "memory" (memory 1))

  (global $h (mut i64) (i64.const 0))
  (global $mask_s (mut i64) (i64.const 0))
  (global $mask_s_ls (mut i64) (i64.const 0))
  (global $mask_l (mut i64) (i64.const 0))
  (global $mask_l_ls (mut i64) (i64.const 0))

  ;; Seeds the tables and sets the masks. The caller must first write the plain GEAR table
  ;; (little-endian) at address 0. GEAR[i] ^= seed; GEAR_LS[i] = GEAR[i] << 1, which equals
  ;; (plain GEAR[i] << 1) ^ (seed << 1). Resets the hash to 0.
  (func (export "init") (param $seed i64) (param $mask_s i64) (param $mask_l i64)
    (local $i i32)
    (local $g i64)
    (loop $fill
      (local.set $g (i64.xor (i64.load (local.get $i)) (local.get $seed)))
      (i64.store (local.get $i) (local.get $g))
      (i64.store offset=2048 (local.get $i) (i64.shl (local.get $g) (i64.const 1)))
      (br_if $fill
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 8))) (i32.const 2048))))
    (global.set $mask_s (local.get $mask_s))
    (global.set $mask_s_ls (i64.shl (local.get $mask_s) (i64.const 1)))
    (global.set $mask_l (local.get $mask_l))
    (global.set $mask_l_ls (i64.shl (local.get $mask_l) (i64.const 1)))
    (global.set $h (i64.const 0)))

  ;; Starts a new chunk: the hash restarts at 0.
  (func (export "reset")
    (global.set $h (i64.const 0)))

  ;; The running hash (the cut's hash after scan returned a cut).
  (func (export "hash") (result i64)
    (global.get $h))

  ;; Scans byte pairs at addresses $p, $p+2, ... Pairs below $s use mask_s, pairs from $s up to $l
  ;; use mask_l. The caller guarantees $l - $p and (when $s > $p) $s - $p are even, that $s <= $l,
  ;; and that bytes [$p, $l) are in memory. Returns the cut address (the first byte of the next
  ;; chunk) or -1 when no cut lies before $l; either way $h holds the hash at that point.
  ;;
  ;; The hot loop takes two pairs (four bytes) per iteration. With h the hash before them,
  ;; t = h << 2, and q0 = GEAR_LS[b0] + GEAR[b1], q1 = GEAR_LS[b2] + GEAR[b3]:
  ;;   after b0: a = t + GEAR_LS[b0]             after b1: b = t + q0
  ;;   after b2: c = (b << 2) + GEAR_LS[b2]      after b3: h = (t << 2) + ((q0 << 2) + q1)
  ;; so the chain carried between iterations is three shifts/adds per four bytes instead of six,
  ;; and the four checks (one AND each) read values computed off that chain. Measured on V8: this
  ;; top-tested loop shape beats a two-bytes-per-step loop by ~50%, and beats a bottom-tested
  ;; loop, (h << 4) for the chain, eight bytes per step, or one 32-bit load split into bytes.
  ;; A leftover single pair is handled after the loop.
  (func (export "scan") (param $p i32) (param $s i32) (param $l i32) (result i32)
    (local $h i64)
    (local $t i64)
    (local $x0 i64)
    (local $q0 i64)
    (local $x1 i64)
    (local $q1 i64)
    (local $v i64)
    (local $a i64)
    (local $b i64)
    (local $c i64)
    (local $m i64)
    (local $m_ls i64)
    (local $bound i32)
    (local.set $h (global.get $h))
    ;; First pass: mask_s up to $s; second pass: mask_l up to $l.
    (local.set $bound (local.get $s))
    (local.set $m (global.get $mask_s))
    (local.set $m_ls (global.get $mask_s_ls))
    (loop $phase
      (block $quads_done
        (loop $quad
          (br_if $quads_done (i32.gt_s (i32.add (local.get $p) (i32.const 4)) (local.get $bound)))
          (local.set $x0 (i64.load offset=2048 (i32.shl (i32.load8_u (local.get $p)) (i32.const 3))))
          (local.set $q0
            (i64.add (local.get $x0) (i64.load (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 3)))))
          (local.set $x1 (i64.load offset=2048 (i32.shl (i32.load8_u offset=2 (local.get $p)) (i32.const 3))))
          (local.set $q1
            (i64.add (local.get $x1) (i64.load (i32.shl (i32.load8_u offset=3 (local.get $p)) (i32.const 3)))))
          (local.set $t (i64.shl (local.get $h) (i64.const 2)))
          (local.set $a (i64.add (local.get $t) (local.get $x0)))
          (local.set $b (i64.add (local.get $t) (local.get $q0)))
          (local.set $c (i64.add (i64.shl (local.get $b) (i64.const 2)) (local.get $x1)))
          (local.set $h
            (i64.add
              (i64.shl (local.get $t) (i64.const 2))
              (i64.add (i64.shl (local.get $q0) (i64.const 2)) (local.get $q1))))
          (if (i64.eqz (i64.and (local.get $a) (local.get $m_ls)))
            (then
              (global.set $h (local.get $a))
              (return (local.get $p))))
          (if (i64.eqz (i64.and (local.get $b) (local.get $m)))
            (then
              (global.set $h (local.get $b))
              (return (i32.add (local.get $p) (i32.const 1)))))
          (if (i64.eqz (i64.and (local.get $c) (local.get $m_ls)))
            (then
              (global.set $h (local.get $c))
              (return (i32.add (local.get $p) (i32.const 2)))))
          (if (i64.eqz (i64.and (local.get $h) (local.get $m)))
            (then
              (global.set $h (local.get $h))
              (return (i32.add (local.get $p) (i32.const 3)))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (br $quad)))
      ;; At most one pair left below $bound.
      (if (i32.lt_s (local.get $p) (local.get $bound))
        (then
          (local.set $x0 (i64.load offset=2048 (i32.shl (i32.load8_u (local.get $p)) (i32.const 3))))
          (local.set $t (i64.shl (local.get $h) (i64.const 2)))
          (if (i64.eqz (i64.and (local.tee $v (i64.add (local.get $t) (local.get $x0))) (local.get $m_ls)))
            (then
              (global.set $h (local.get $v))
              (return (local.get $p))))
          (local.set $h
            (i64.add
              (local.get $v)
              (i64.load (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 3)))))
          (if (i64.eqz (i64.and (local.get $h) (local.get $m)))
            (then
              (global.set $h (local.get $h))
              (return (i32.add (local.get $p) (i32.const 1)))))
          (local.set $p (i32.add (local.get $p) (i32.const 2)))))
      ;; Switch to the large-chunk mask once.
      (if (i32.ne (local.get $bound) (local.get $l))
        (then
          (local.set $bound (local.get $l))
          (local.set $m (global.get $mask_l))
          (local.set $m_ls (global.get $mask_l_ls))
          (br $phase))))
    (global.set $h (local.get $h))
    (i32.const -1))
)
