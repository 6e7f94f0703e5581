/**
 * The constant tables of FastCDC 2020 (the Rust `fastcdc` crate's v2020 module): the 256-entry
 * 64-bit GEAR table and the MASKS table indexed by bit count. These are part of the algorithm's
 * definition: changing one value changes every chunk boundary, so they must never be edited.
 * Stored as big-endian hex words (16 hex digits each) to keep the file compact; decoded once at load.
 */

/** GEAR[0..255] as 16-hex-digit words, four per line. */
const GEAR_HEX =
  '3b5d3c7d207e37dc784d68ba91123086cd52880f882e7298eacf8e4e19fdcca7' +
  'c31f385dfbd1632b1d5f27001e25abe683130bde3c9ad991c4b225676e9b7649' +
  'aa329b29e08eb499b67fcbd21e577d580027baaada2acf6be3ef2d5ac73c2226' +
  '0890f24d6ed312b7a809e036851d7c7ef0a6fe5e0013d81b1d026304452cec14' +
  '03864632648e248fcdaacf3dcd92b9b4f5e012e63c1878568862f9d3821c00b6' +
  'a82f7338750f6f8a1e583dc6c1cb0b6f7a3145b69743a7f1abb20fee404807eb' +
  'b14b3cfe07b83a5db9dc27898adb9a0f3703f5e91baa62becf0bb866815f7d98' +
  '3d9867c41ea9dcd31be1fa65442bf22c14300da4c55631d9e698e9cbc6545c99' +
  '4763107ec64e92a5c65821fc65696a2476196c064822f0b7485be841f3525e01' +
  'f652bc9c85974ff5cad8352face9e3e92a6ed1dceb35e98ec6f483badc11680f' +
  '3cfd8c17e9cf12f189b83c5e2ea56471ae665cfd24e392a9ec33c4e504cb8915' +
  '3fb9b15fc9fe7451d7fd1fd1945f219531ade0853443efd8255efc9863e1e2d2' +
  '10eab6008d5642cf46f04863257ac804a52dc42a789a27d3daaadf9ce77af565' +
  '6b479cd53d87febb6309e2d3f93db72fc5738ffbaa1ff9d66bd57f3f25af7968' +
  '67605486d90d0a4ae14d0b9663bfbdaeb7bbd8d816eb0414def8a4f16b35a116' +
  'e7932d85aaaffed608161cbae90cfd48855507beb294f08b91234ea6ffd399b2' +
  'ad70cf4b2435f302d289a97565bc2d278e558437ffca99de96d2704b7115c040' +
  '0889bbcdfc660e415e0d4e67dc92128d72a9f8917063ed97438b69d409e016e3' +
  'df4fed8a5d8a439700f41dcf41d403f74814eb038e52603f9dafbacc58e2d651' +
  'fe2f458e4be170af4457ec414df6a94006e62f1451123314bd1014d173ba92cc' +
  'def318e25ed577609fea0de9dfca8525459de1e76c20624baeec189617e2d666' +
  '126a2c06ab5a83cbb1321532360f613265421503dbb401232d67c287ea089ab3' +
  '6c93bff5a56bd6b64ffb2036cab6d98dce7b785b1be7ad4fedb42ef6189fd163' +
  'dc905288703988f6365f9c1d2c691884c640583680d99bfe3cd4624c07593ec6' +
  '7f1ea8d85d7c5805014842d480b571490b649bcb5a828688bcd5708ed79b18f0' +
  'e987c862fbd2f2f0982731671f0cd82cbaf13e8b16d8c0638ea3109cbd951bba' +
  'd141045bfb385cad2acbc1a0af1f7d30e6444d89df03bfdfa18cc771b8188ff9' +
  '9834429db01c39bb214add07fe086a1f8f07c19b1f6b3ff956a297b1bf4ffe55' +
  '94d558e493c54fc740bfc24c764552cb931a706f8a8520cb32229d322935bd52' +
  '2560d0f5dc4fefaf9dbcc48355969bb60fd81c3985c0b56ae03817e1560f2bda' +
  'c1bb4f81d892b2d5b0c4864f4e28d2d73ecc49f9d9d6c26351307e99b52ba65e' +
  '8af2b688da84a752f5d72523b91b20b66d95ff1ff4634806562f21555458339a' +
  'c0ce47f889336346487823e5089b40d8e4727c7ebc6d95925a8f7277e94970ba' +
  'fca2f406b1c8bb505b1f8a95f1791070d304af9fc90286055440ab7fc930e748' +
  '312d25fbca2ab5a110f4a4b234a4d57590301d55047e74733b6372886c61591e' +
  '293402b77c444e06451f34a4d3e97dd73158d814d81bc57b034942425b9bda69' +
  'e2032ff9e532d9bb62ae066b8b2179e59545e10c2f8d71d87ff7483eb2d23fc0' +
  '00945fcebdc98d868764bbbe99b26ca21b1ec62284c0bfc358e0fcc4f0aa362b' +
  '5f4abefa878d458dfd74ac2f9607c519a4e3fb37df8cbfa9bf697e43cac574e5' +
  '86f14a3f68f4cd5324a23d076f1ce522e725cd8048868cc8bf3c729eb2464362' +
  'd8f6cd57b3cc1ed86329e5242554157762aa688ad5ae1ac00a242566269bf845' +
  '168b1a4753aca74bf789afefff2e7e3c6c3362093b6fccdb4ce8f50bd28c09b2' +
  '006a2db95ae8aa93975b0d623c3d1a8c18605d3935338c5b5bb6f6136cad3c71' +
  '0f53a20701f8d8a6ab8c5ad2e7e93c6740b5ac5127acaa298c7bf63c2075895f' +
  '78bd9f7e014a805cb2c9e9f4f9c8c032efd6049827eb91f32be459f482c16fbd' +
  'd92ce0c5745aaa8c0aaa8fb298d965b92b37f92c6c803b158c54a5e94e0f0e78' +
  '95f9b6e90c0a3032e7939faa436c7874d16bfe8f6a8a40c944982b86263fd2fa' +
  'e285fb39f984e583779a8df72d7619d3f2d79a8de8d5dd1ed1037354d66684e2' +
  '004c82a4e668a8e531d40a7668b044e6d70578538bd02c11db45431078c5f482' +
  '977121bb7f6a51ad73d5ccbd34eff8dde437a07d356e17cd47b2782043c95627' +
  '9fb251413e41d49accd70b60652513d31c95b31e8a1b49b2cae73dfd1bcb4c1b' +
  '34d98331b1f5b70f784e39f22338d92f18613d4a064df420f1d8dae25f0bcebe' +
  '33f77c15ae855efc3c88b3b912eb109c956a2ec96bafeea51aa005b5e0ad0e87' +
  '5500d70527c4bb8ee36c57196421cc4413c4d286cc36ee395654a23d818b2a81' +
  '77b1dc13d161abdc734f44de5f8d5eb560717e174a6c89a2d47d9649266a211e' +
  '5b13a4322bb69e90f7669609f8b5fc3c21e6ac55bedcdac99b56b62b61166dea' +
  'f48f66b939797e9c35f332f9c0e6ae9acc733f6a9a878db03da161e41cc108c2' +
  'b7d74ae535914d514d493b0b11d36469ce264d1dfba9741aa9d1f2dc7436dc06' +
  '70738016604c2a27231d36e96e93f3d57666881197838d194a2a83090aaad40c' +
  'f1e761591668b35d7363236497f730a7301080e37379dd4d502dea2971827042' +
  'c2c5eb858f32625f786afb9edfafbdffdaee0d868490b2a4617366b3268609f6' +
  'ae0e35a0fe46173ed1a07de93e824f11079b8b115ea4cca893a99274558faebb' +
  'fb1e6e22e08a03b3ea635fdba3698dd0cf53659328503a5ccde3b31e6fd5d780' +
  '8e3e4221d3614413ef14d0d86bf1a22ce1d830d3f16c5ddbaabd2b2a451504e1';

/** MASKS[0..25] as 16-hex-digit words (entries 0-4 are zero and unused). */
const MASKS_HEX =
  '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001804110' +
  '000000000180311000000000180351000000001800035300000001900035300000005900035300000000d90003530000' +
  '0000d901035300000000d903035300000000d903135300000000d90f035300000000d903035370000000d90703537000' +
  '0000d907075370000000d917075370000000d917475370000000d917675370000000d937675370000000d93777537000' +
  '0000d937775770000000db3777577000';

function decodeWords(hex: string): BigUint64Array {
  const out = new BigUint64Array(hex.length / 16);
  for (let i = 0; i < out.length; i++) out[i] = BigInt(`0x${hex.slice(i * 16, i * 16 + 16)}`);
  return out;
}

/** The unseeded FastCDC 2020 gear table (256 entries). Treat as read-only. */
export const GEAR: BigUint64Array = decodeWords(GEAR_HEX);

/**
 * FastCDC 2020 masks by bit count: `mask_s = MASKS[bits + level]`, `mask_l = MASKS[bits - level]`
 * where `bits = round(log2(avg))`. Only indices {@link MASK_INDEX_MIN}..{@link MASK_INDEX_MAX} are usable.
 * Treat as read-only.
 */
export const MASKS: BigUint64Array = decodeWords(MASKS_HEX);

/** Smallest usable index into {@link MASKS} (entries below are zero). */
export const MASK_INDEX_MIN = 5;
/** Largest usable index into {@link MASKS}. */
export const MASK_INDEX_MAX = 25;

/** GEAR as little-endian bytes (WebAssembly's byte order), ready to copy into the kernel's memory. */
export const GEAR_BYTES_LE: Uint8Array = (() => {
  const out = new Uint8Array(GEAR.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < GEAR.length; i++) view.setBigUint64(i * 8, GEAR[i]!, true);
  return out;
})();
