/** Size arithmetic of protobuf varints, for the emulator's hand-written encoders. */

/** Bytes a protobuf varint of the non-negative number `n` (up to 2^53) takes. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}
