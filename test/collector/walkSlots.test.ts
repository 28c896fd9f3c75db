/**
 * WalkSlots (packages/cli/src/collector/walkSlots.ts): how many accounts of a collector walk at once.
 * Slots are granted in call order, a release gives its slot back once, and a waiter whose signal
 * aborts stops waiting without taking a slot.
 */
import { WalkSlots } from "../../packages/cli/src/collector/walkSlots.js";

const never = new AbortController().signal;

it("grants at most `size` slots; the next waiter gets a released slot, in call order", async () => {
  const slots = new WalkSlots(2);
  const a = await slots.take(never);
  const b = await slots.take(never);
  expect(slots.free).toBe(0);
  const order: string[] = [];
  const c = slots.take(never).then((release) => {
    order.push("c");
    return release;
  });
  const d = slots.take(never).then((release) => {
    order.push("d");
    return release;
  });
  await new Promise((r) => setImmediate(r));
  expect(order).toEqual([]);
  a();
  a(); // a second release of the same slot gives nothing back
  const releaseC = await c;
  await new Promise((r) => setImmediate(r));
  expect(order).toEqual(["c"]);
  b();
  const releaseD = await d;
  expect(order).toEqual(["c", "d"]);
  expect(slots.free).toBe(0);
  releaseC();
  releaseD();
  expect(slots.free).toBe(2);
});

it("a waiter whose signal aborts stops waiting and takes no slot; an aborted signal never waits", async () => {
  const slots = new WalkSlots(1);
  const held = await slots.take(never);
  const stop = new AbortController();
  const waiting = slots.take(stop.signal);
  stop.abort();
  (await waiting)();
  expect(slots.free).toBe(0);
  (await slots.take(stop.signal))();
  held();
  expect(slots.free).toBe(1);
  expect(() => new WalkSlots(0)).toThrow(RangeError);
});
