/**
 * The generated printers' source can be printed for review, and what is printed is what runs.
 */
import { entryPrinterCode } from "../../packages/client/src/codec/entryPrinter.js";
import { jsonlTranscoderCode } from "../../packages/client/src/codec/jsonlTranscoderSource.js";

describe.each([
  ["bytes → JSON transcoder", jsonlTranscoderCode, "FALLBACK, isUtf8, EMPTY, civilFromDays", "m_0"],
  ["object printer", entryPrinterCode, "FALLBACK, civilFromDays", "j_0"],
])("%s", (_, code, helpers, rootFunction) => {
  it("prints its whole source: a factory of the helpers passed in, with one function per message type", () => {
    const source = code().source();
    expect(source.startsWith(`(function (${helpers}) {\n`)).toBe(true);
    expect(source).toContain(`function ${rootFunction}(`);
    // The printed text is valid JavaScript as a whole.
    expect(() => new Function(`return ${source};`)).not.toThrow();
  });

  it("builds the same source every time", () => {
    expect(code().source()).toBe(code().source());
  });
});
