/**
 * Where a value of the collector's config is, for messages: `config file /x/c.yaml:12:
 * destinations[1].accounts[0]`. Every refusal of the file is one line built here.
 */
import { ConfigError, type YamlFile } from "../options/configFile.js";

/** A path into the file: map keys and sequence indexes. */
export type KeyPath = readonly (string | number)[];

/** `destinations[1].accounts[0]`. */
export function pathText(keys: KeyPath): string {
  return keys.reduce<string>(
    (text, key) => (typeof key === "number" ? `${text}[${key}]` : text === "" ? key : `${text}.${key}`),
    "",
  );
}

/** The file being resolved: its path, folder, YAML (for lines) and the run's environment. */
export class ConfigSite {
  constructor(
    /** The config file, absolute. */
    readonly file: string,
    readonly yaml: YamlFile,
  ) {}

  /** The line of the node at `keys`, else of its key, else of the nearest parent that has one. */
  line(keys: KeyPath): number | undefined {
    for (let n = keys.length; n >= 0; n--) {
      const head = keys.slice(0, n);
      const last = head[head.length - 1];
      const line =
        typeof last === "string" ? this.yaml.keyLine(head.slice(0, -1), last) : this.yaml.lineOf(head);
      if (line !== undefined) return line;
    }
    return undefined;
  }

  /** `config file F:LINE: PATH`, the start of every message about `keys` (LINE: that of `lineKeys`). */
  at(keys: KeyPath, lineKeys: KeyPath = keys): string {
    const line = this.line(lineKeys);
    const file = `config file ${line === undefined ? this.file : `${this.file}:${line}`}`;
    return keys.length === 0 ? file : `${file}: ${pathText(keys)}`;
  }

  /** The refusal of the value at `keys`: `config file F:LINE: PATH: problem`. */
  fail(keys: KeyPath, problem: string): ConfigError {
    return new ConfigError(`${this.at(keys)}: ${problem}`);
  }
}
