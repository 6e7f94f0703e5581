;; LZ4 block format codec (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md), hand-written
;; WebAssembly assembled by packages/core/scripts/build-wasm.mjs into lz4-wasm.ts (base64); a test
;; checks the two match.
;;
;; compress: the reference's fast path (LZ4_compress_generic, acceleration 1, a 4096-entry u32 hash
;; table of 5-byte hashes, the skip heuristic for incompressible runs, match catch-up and the
;; "next position" test). Output is a standard block: the last 5 bytes are literals, no match starts
;; in the last 12. The caller gives it compressBound(n) bytes of output plus 16 bytes of slack and
;; 16 readable bytes after the input (short literal runs are copied 16 bytes at a time).
;;
;; decompress: validates everything (every length against both buffers, every offset against the
;; bytes produced so far) and returns -1 on any malformed block, never reading or writing outside
;; [src, src+srcLen) and [dst, dst+dstCap+16): the caller provides 16 bytes of slack after dstCap,
;; which short copies may overwrite.
;;
;; Memory: the hash table is [0, 16384); the caller places input and output above it.
(module
  (memory (export "memory") 1)

  ;; The hash (LZ4_hash5: the low 5 bytes of an 8-byte load times a prime, top 12 bits, times 4
  ;; for a table byte offset) is written out where it is used, not called: V8 does not inline
  ;; WebAssembly calls, and a call per input position cost ~20 % of compression speed.

  ;; Writes a length's continuation bytes (255 while at least 255 remain, then the rest); returns op.
  (func $lenBytes (param $op i32) (param $len i32) (result i32)
    (block $done
      (loop $more
        (br_if $done (i32.lt_u (local.get $len) (i32.const 255)))
        (i32.store8 (local.get $op) (i32.const 255))
        (local.set $op (i32.add (local.get $op) (i32.const 1)))
        (local.set $len (i32.sub (local.get $len) (i32.const 255)))
        (br $more)))
    (i32.store8 (local.get $op) (local.get $len))
    (i32.add (local.get $op) (i32.const 1)))

  ;; Token high nibble, length bytes and the literals themselves; returns op after them.
  (func $literals (param $token i32) (param $op i32) (param $from i32) (param $n i32) (result i32)
    (local $end i32)
    (if (i32.ge_u (local.get $n) (i32.const 15))
      (then
        (i32.store8 (local.get $token) (i32.const 240))
        (local.set $op (call $lenBytes (local.get $op) (i32.sub (local.get $n) (i32.const 15)))))
      (else (i32.store8 (local.get $token) (i32.shl (local.get $n) (i32.const 4)))))
    (local.set $end (i32.add (local.get $op) (local.get $n)))
    (if (i32.gt_u (local.get $n) (i32.const 32))
      (then (memory.copy (local.get $op) (local.get $from) (local.get $n)))
      (else
        ;; Short runs: 8 bytes at a time, up to 7 past the end (within the caller's slack).
        (block $done
          (loop $copy
            (i64.store (local.get $op) (i64.load (local.get $from)))
            (local.set $op (i32.add (local.get $op) (i32.const 8)))
            (local.set $from (i32.add (local.get $from) (i32.const 8)))
            (br_if $copy (i32.lt_u (local.get $op) (local.get $end)))))))
    (local.get $end))

  ;; Compresses [src, src+n) to dst; returns the block's length.
  (func (export "compress") (param $src i32) (param $n i32) (param $dst i32) (result i32)
    (local $ip i32) (local $anchor i32) (local $iend i32) (local $mflimitP1 i32) (local $matchlimit i32)
    (local $op i32) (local $fwdIp i32) (local $step i32) (local $search i32) (local $h i32) (local $fwdH i32)
    (local $match i32) (local $mi i32) (local $cur i32) (local $token i32) (local $len i32)
    (local $p i32) (local $m i32) (local $diff i64)
    (local.set $op (local.get $dst))
    (local.set $anchor (local.get $src))
    (local.set $iend (i32.add (local.get $src) (local.get $n)))
    (block $last
      ;; Below 13 bytes no match is allowed: all literals.
      (br_if $last (i32.lt_u (local.get $n) (i32.const 13)))
      (memory.fill (i32.const 0) (i32.const 0) (i32.const 16384))
      (local.set $mflimitP1 (i32.sub (local.get $iend) (i32.const 11)))
      (local.set $matchlimit (i32.sub (local.get $iend) (i32.const 5)))
      (local.set $ip (local.get $src))
      (i32.store (i32.shl (i32.wrap_i64 (i64.shr_u (i64.mul (i64.shl (i64.load (local.get $ip)) (i64.const 24)) (i64.const 889523592379)) (i64.const 52))) (i32.const 2)) (i32.const 0))
      (local.set $ip (i32.add (local.get $ip) (i32.const 1)))
      (local.set $fwdH (i32.shl (i32.wrap_i64 (i64.shr_u (i64.mul (i64.shl (i64.load (local.get $ip)) (i64.const 24)) (i64.const 889523592379)) (i64.const 52))) (i32.const 2)))
      (loop $outer
        ;; Find a match: step grows by one every 64 misses (fast over incompressible data).
        (local.set $fwdIp (local.get $ip))
        (local.set $step (i32.const 1))
        (local.set $search (i32.const 64))
        (loop $find
          (local.set $h (local.get $fwdH))
          (local.set $ip (local.get $fwdIp))
          (local.set $cur (i32.sub (local.get $ip) (local.get $src)))
          (local.set $fwdIp (i32.add (local.get $fwdIp) (local.get $step)))
          (local.set $step (i32.shr_u (local.get $search) (i32.const 6)))
          (local.set $search (i32.add (local.get $search) (i32.const 1)))
          (br_if $last (i32.gt_u (local.get $fwdIp) (local.get $mflimitP1)))
          (local.set $mi (i32.load (local.get $h)))
          (local.set $fwdH (i32.shl (i32.wrap_i64 (i64.shr_u (i64.mul (i64.shl (i64.load (local.get $fwdIp)) (i64.const 24)) (i64.const 889523592379)) (i64.const 52))) (i32.const 2)))
          (i32.store (local.get $h) (local.get $cur))
          (br_if $find (i32.lt_u (i32.add (local.get $mi) (i32.const 65535)) (local.get $cur)))
          (local.set $match (i32.add (local.get $src) (local.get $mi)))
          (br_if $find (i32.ne (i32.load (local.get $match)) (i32.load (local.get $ip)))))
        ;; Catch up: extend the match backwards over equal bytes.
        (block $caught
          (loop $back
            (br_if $caught (i32.le_u (local.get $ip) (local.get $anchor)))
            (br_if $caught (i32.le_u (local.get $match) (local.get $src)))
            (br_if $caught
              (i32.ne
                (i32.load8_u (i32.sub (local.get $ip) (i32.const 1)))
                (i32.load8_u (i32.sub (local.get $match) (i32.const 1)))))
            (local.set $ip (i32.sub (local.get $ip) (i32.const 1)))
            (local.set $match (i32.sub (local.get $match) (i32.const 1)))
            (br $back)))
        ;; The literals before the match (inline: this runs once per sequence).
        (local.set $token (local.get $op))
        (local.set $op (i32.add (local.get $op) (i32.const 1)))
        (local.set $len (i32.sub (local.get $ip) (local.get $anchor)))
        (if (i32.ge_u (local.get $len) (i32.const 15))
          (then
            (i32.store8 (local.get $token) (i32.const 240))
            (local.set $op (call $lenBytes (local.get $op) (i32.sub (local.get $len) (i32.const 15)))))
          (else (i32.store8 (local.get $token) (i32.shl (local.get $len) (i32.const 4)))))
        (local.set $p (i32.add (local.get $op) (local.get $len)))
        (if (i32.gt_u (local.get $len) (i32.const 48))
          (then (memory.copy (local.get $op) (local.get $anchor) (local.get $len)))
          (else
            ;; 16 bytes at a time, up to 15 past the end (slack the caller provides).
            (local.set $m (local.get $anchor))
            (loop $copy
              (v128.store (local.get $op) (v128.load (local.get $m)))
              (local.set $op (i32.add (local.get $op) (i32.const 16)))
              (local.set $m (i32.add (local.get $m) (i32.const 16)))
              (br_if $copy (i32.lt_u (local.get $op) (local.get $p))))))
        (local.set $op (local.get $p))
        (loop $nextMatch
          (i32.store16 (local.get $op) (i32.sub (local.get $ip) (local.get $match)))
          (local.set $op (i32.add (local.get $op) (i32.const 2)))
          ;; Match length beyond the first 4 bytes, 8 bytes at a time, never into the last 5.
          (local.set $p (i32.add (local.get $ip) (i32.const 4)))
          (local.set $m (i32.add (local.get $match) (i32.const 4)))
          (block $counted
            (loop $count8
              (if (i32.lt_u (local.get $p) (i32.sub (local.get $matchlimit) (i32.const 7)))
                (then
                  (local.set $diff (i64.xor (i64.load (local.get $m)) (i64.load (local.get $p))))
                  (if (i64.eqz (local.get $diff))
                    (then
                      (local.set $p (i32.add (local.get $p) (i32.const 8)))
                      (local.set $m (i32.add (local.get $m) (i32.const 8)))
                      (br $count8)))
                  (local.set $p
                    (i32.add (local.get $p) (i32.wrap_i64 (i64.shr_u (i64.ctz (local.get $diff)) (i64.const 3)))))
                  (br $counted))))
            (if (i32.lt_u (local.get $p) (i32.sub (local.get $matchlimit) (i32.const 3)))
              (then
                (if (i32.eq (i32.load (local.get $m)) (i32.load (local.get $p)))
                  (then
                    (local.set $p (i32.add (local.get $p) (i32.const 4)))
                    (local.set $m (i32.add (local.get $m) (i32.const 4)))))))
            (if (i32.lt_u (local.get $p) (i32.sub (local.get $matchlimit) (i32.const 1)))
              (then
                (if (i32.eq (i32.load16_u (local.get $m)) (i32.load16_u (local.get $p)))
                  (then
                    (local.set $p (i32.add (local.get $p) (i32.const 2)))
                    (local.set $m (i32.add (local.get $m) (i32.const 2)))))))
            (if (i32.lt_u (local.get $p) (local.get $matchlimit))
              (then
                (if (i32.eq (i32.load8_u (local.get $m)) (i32.load8_u (local.get $p)))
                  (then (local.set $p (i32.add (local.get $p) (i32.const 1))))))))
          (local.set $len (i32.sub (i32.sub (local.get $p) (local.get $ip)) (i32.const 4)))
          (local.set $ip (local.get $p))
          (if (i32.ge_u (local.get $len) (i32.const 15))
            (then
              (i32.store8 (local.get $token) (i32.add (i32.load8_u (local.get $token)) (i32.const 15)))
              (local.set $op (call $lenBytes (local.get $op) (i32.sub (local.get $len) (i32.const 15)))))
            (else (i32.store8 (local.get $token) (i32.add (i32.load8_u (local.get $token)) (local.get $len)))))
          (local.set $anchor (local.get $ip))
          (br_if $last (i32.ge_u (local.get $ip) (local.get $mflimitP1)))
          ;; Index the position two back, then try a match right here (no literals between).
          (i32.store
            (i32.shl (i32.wrap_i64 (i64.shr_u (i64.mul (i64.shl (i64.load (i32.sub (local.get $ip) (i32.const 2))) (i64.const 24)) (i64.const 889523592379)) (i64.const 52))) (i32.const 2))
            (i32.sub (i32.sub (local.get $ip) (i32.const 2)) (local.get $src)))
          (local.set $h (i32.shl (i32.wrap_i64 (i64.shr_u (i64.mul (i64.shl (i64.load (local.get $ip)) (i64.const 24)) (i64.const 889523592379)) (i64.const 52))) (i32.const 2)))
          (local.set $cur (i32.sub (local.get $ip) (local.get $src)))
          (local.set $mi (i32.load (local.get $h)))
          (i32.store (local.get $h) (local.get $cur))
          (if (i32.ge_u (i32.add (local.get $mi) (i32.const 65535)) (local.get $cur))
            (then
              (local.set $match (i32.add (local.get $src) (local.get $mi)))
              (if (i32.eq (i32.load (local.get $match)) (i32.load (local.get $ip)))
                (then
                  (local.set $token (local.get $op))
                  (i32.store8 (local.get $token) (i32.const 0))
                  (local.set $op (i32.add (local.get $op) (i32.const 1)))
                  (br $nextMatch))))))
        (local.set $ip (i32.add (local.get $ip) (i32.const 1)))
        (local.set $fwdH (i32.shl (i32.wrap_i64 (i64.shr_u (i64.mul (i64.shl (i64.load (local.get $ip)) (i64.const 24)) (i64.const 889523592379)) (i64.const 52))) (i32.const 2)))
        (br $outer)))
    ;; The last literals (the whole input when it is short or no match was found).
    (local.set $op
      (call $literals
        (local.get $op)
        (i32.add (local.get $op) (i32.const 1))
        (local.get $anchor)
        (i32.sub (local.get $iend) (local.get $anchor))))
    (i32.sub (local.get $op) (local.get $dst)))

  ;; Reads a length's continuation bytes from ip: returns the sum, or -1 when the input ends first
  ;; (or the sum grows absurd); leaves the ip after them in $g.
  (global $g (mut i32) (i32.const 0))
  (func $readLen (param $ip i32) (param $iend i32) (result i32)
    (local $b i32) (local $sum i32)
    (loop $more
      (if (i32.ge_u (local.get $ip) (local.get $iend)) (then (return (i32.const -1))))
      (local.set $b (i32.load8_u (local.get $ip)))
      (local.set $ip (i32.add (local.get $ip) (i32.const 1)))
      (local.set $sum (i32.add (local.get $sum) (local.get $b)))
      ;; A length beyond 1 GiB cannot be valid here: stop before it could wrap.
      (if (i32.gt_u (local.get $sum) (i32.const 0x40000000)) (then (return (i32.const -1))))
      (br_if $more (i32.eq (local.get $b) (i32.const 255))))
    (global.set $g (local.get $ip))
    (local.get $sum))

  ;; Decodes the block [src, src+srcLen) into dst (at most dstCap bytes); returns the decoded
  ;; length, or -1 when the block is malformed.
  (func (export "decompress") (param $src i32) (param $srcLen i32) (param $dst i32) (param $dstCap i32) (result i32)
    (local $ip i32) (local $iend i32) (local $op i32) (local $oend i32) (local $token i32) (local $lit i32)
    (local $extra i32) (local $off i32) (local $mlen i32) (local $match i32) (local $end i32) (local $d i32)
    (local $stop i32)
    (local.set $ip (local.get $src))
    (local.set $iend (i32.add (local.get $src) (local.get $srcLen)))
    (local.set $op (local.get $dst))
    (local.set $oend (i32.add (local.get $dst) (local.get $dstCap)))
    (loop $seq
      (if (i32.ge_u (local.get $ip) (local.get $iend)) (then (return (i32.const -1))))
      (local.set $token (i32.load8_u (local.get $ip)))
      (local.set $ip (i32.add (local.get $ip) (i32.const 1)))
      (local.set $lit (i32.shr_u (local.get $token) (i32.const 4)))
      (block $copyMatch
        (block $general
          ;; Fast path, most sequences: under 15 literals, a match under 19 bytes, and room on
          ;; both sides for whole 16-byte moves.
          (br_if $general (i32.eq (local.get $lit) (i32.const 15)))
          (br_if $general (i32.eq (i32.and (local.get $token) (i32.const 15)) (i32.const 15)))
          (br_if $general (i32.gt_u (i32.add (local.get $ip) (i32.const 32)) (local.get $iend)))
          (br_if $general (i32.gt_u (i32.add (local.get $op) (i32.const 32)) (local.get $oend)))
          (v128.store (local.get $op) (v128.load (local.get $ip)))
          (local.set $op (i32.add (local.get $op) (local.get $lit)))
          (local.set $ip (i32.add (local.get $ip) (local.get $lit)))
          (local.set $off (i32.load16_u (local.get $ip)))
          (local.set $ip (i32.add (local.get $ip) (i32.const 2)))
          (if (i32.eqz (local.get $off)) (then (return (i32.const -1))))
          (if (i32.gt_u (local.get $off) (i32.sub (local.get $op) (local.get $dst))) (then (return (i32.const -1))))
          (local.set $mlen (i32.add (i32.and (local.get $token) (i32.const 15)) (i32.const 4)))
          (local.set $match (i32.sub (local.get $op) (local.get $off)))
          (local.set $end (i32.add (local.get $op) (local.get $mlen)))
          (br_if $copyMatch (i32.lt_u (local.get $off) (i32.const 16)))
          ;; 18 bytes at most: two 16-byte moves (the second only reads bytes already written).
          (v128.store (local.get $op) (v128.load (local.get $match)))
          (v128.store offset=16 (local.get $op) (v128.load offset=16 (local.get $match)))
          (local.set $op (local.get $end))
          (br $seq))
        ;; General path: long lengths, and near either end.
        (if (i32.eq (local.get $lit) (i32.const 15))
          (then
            (local.set $extra (call $readLen (local.get $ip) (local.get $iend)))
            (if (i32.lt_s (local.get $extra) (i32.const 0)) (then (return (i32.const -1))))
            (local.set $ip (global.get $g))
            (local.set $lit (i32.add (local.get $lit) (local.get $extra)))))
        (if (i32.gt_u (local.get $lit) (i32.sub (local.get $iend) (local.get $ip))) (then (return (i32.const -1))))
        (if (i32.gt_u (local.get $lit) (i32.sub (local.get $oend) (local.get $op))) (then (return (i32.const -1))))
        (if (i32.and
              (i32.le_u (local.get $lit) (i32.const 16))
              (i32.le_u (i32.add (local.get $ip) (i32.const 16)) (local.get $iend)))
          (then (v128.store (local.get $op) (v128.load (local.get $ip))))
          (else (memory.copy (local.get $op) (local.get $ip) (local.get $lit))))
        (local.set $op (i32.add (local.get $op) (local.get $lit)))
        (local.set $ip (i32.add (local.get $ip) (local.get $lit)))
        ;; The block ends right after the last literals.
        (if (i32.eq (local.get $ip) (local.get $iend))
          (then (return (i32.sub (local.get $op) (local.get $dst)))))
        (if (i32.lt_u (i32.sub (local.get $iend) (local.get $ip)) (i32.const 2)) (then (return (i32.const -1))))
        (local.set $off (i32.load16_u (local.get $ip)))
        (local.set $ip (i32.add (local.get $ip) (i32.const 2)))
        (if (i32.eqz (local.get $off)) (then (return (i32.const -1))))
        (if (i32.gt_u (local.get $off) (i32.sub (local.get $op) (local.get $dst))) (then (return (i32.const -1))))
        (local.set $mlen (i32.and (local.get $token) (i32.const 15)))
        (if (i32.eq (local.get $mlen) (i32.const 15))
          (then
            (local.set $extra (call $readLen (local.get $ip) (local.get $iend)))
            (if (i32.lt_s (local.get $extra) (i32.const 0)) (then (return (i32.const -1))))
            (local.set $ip (global.get $g))
            (local.set $mlen (i32.add (local.get $mlen) (local.get $extra)))))
        (local.set $mlen (i32.add (local.get $mlen) (i32.const 4)))
        (if (i32.gt_u (local.get $mlen) (i32.sub (local.get $oend) (local.get $op))) (then (return (i32.const -1))))
        (local.set $match (i32.sub (local.get $op) (local.get $off)))
        (local.set $end (i32.add (local.get $op) (local.get $mlen))))
      ;; Copy the match [match, match+mlen) to [op, end); moves may run up to 15 bytes past end.
      (if (i32.ge_u (local.get $off) (i32.const 16))
        (then
          (if (i32.and (i32.gt_u (local.get $mlen) (i32.const 64)) (i32.ge_u (local.get $off) (local.get $mlen)))
            (then (memory.copy (local.get $op) (local.get $match) (local.get $mlen)))
            (else
              ;; 16 bytes at a time: each move reads only bytes written before it (off >= 16).
              (loop $wide
                (v128.store (local.get $op) (v128.load (local.get $match)))
                (local.set $op (i32.add (local.get $op) (i32.const 16)))
                (local.set $match (i32.add (local.get $match) (i32.const 16)))
                (br_if $wide (i32.lt_u (local.get $op) (local.get $end)))))))
        (else
          ;; A short period off: find a period d >= 8 that is a multiple of off, write the first
          ;; d - off bytes one by one, then copy 8 bytes at a time from d back, which only reads
          ;; bytes already written and repeats the same pattern.
          (local.set $d (local.get $off))
          (block $wide (loop $grow
            (br_if $wide (i32.ge_u (local.get $d) (i32.const 8)))
            (local.set $d (i32.add (local.get $d) (local.get $off)))
            (br $grow)))
          (local.set $stop (i32.sub (i32.add (local.get $op) (local.get $d)) (local.get $off)))
          (block $done
            (loop $bytes
              (br_if $done (i32.ge_u (local.get $op) (local.get $end)))
              (if (i32.lt_u (local.get $op) (local.get $stop))
                (then
                  (i32.store8 (local.get $op) (i32.load8_u (local.get $match)))
                  (local.set $op (i32.add (local.get $op) (i32.const 1)))
                  (local.set $match (i32.add (local.get $match) (i32.const 1)))
                  (br $bytes))))
            (local.set $match (i32.sub (local.get $op) (local.get $d)))
            (loop $words
              (br_if $done (i32.ge_u (local.get $op) (local.get $end)))
              (i64.store (local.get $op) (i64.load (local.get $match)))
              (local.set $op (i32.add (local.get $op) (i32.const 8)))
              (local.set $match (i32.add (local.get $match) (i32.const 8)))
              (br $words)))))
      (local.set $op (local.get $end))
      (br $seq))
    (i32.const -1)))
