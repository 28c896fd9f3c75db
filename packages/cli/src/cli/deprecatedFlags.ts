/**
 * A renamed flag keeps working for one minor version: {@link addDeprecatedAlias} adds the old name
 * (packages/cli/src/cli/vocabulary.ts's DEPRECATED_FLAGS) to a command as a hidden alias of its
 * replacement. The alias takes the replacement's argument, parser and choices (so its value is
 * checked as the new name's is, and a repeatable flag collects), and before the command runs its
 * value moves onto the replacement, with one warning line on stderr. Giving both names is a usage
 * error: which value was meant cannot be told. It loads nothing but commander.
 */
import { type Command, Option } from "commander";
import { type DeprecatedFlag, deprecationOf } from "./vocabulary.js";

/** The warning printed once per run for each deprecated name given. */
export function deprecationWarning(flag: string): string {
  const deprecated = deprecationOf(flag);
  if (deprecated === undefined) throw new Error(`${flag} is not a deprecated flag`);
  return `clarifai-audit: warning: ${flag} is deprecated, use ${deprecated.replacement} (removed in ${deprecated.removedIn})`;
}

/**
 * Adds the deprecated name `old` to `cmd` as a hidden alias of its flag `replacement` (added to
 * `cmd` before this is called). Throws if the pair is not in the vocabulary's DEPRECATED_FLAGS or
 * `cmd` has no such flag: a definition error, met by every test that builds the program.
 */
export function addDeprecatedAlias(cmd: Command, old: string, replacement: string): Command {
  if (deprecationOf(old, replacement) === undefined)
    throw new Error(`${old} → ${replacement} is not in the vocabulary's DEPRECATED_FLAGS`);
  const target = cmd.options.find((o) => o.long === replacement);
  if (target === undefined) throw new Error(`${cmd.name()} has no ${replacement} to alias ${old} to`);
  const argument = target.flags.slice(target.flags.indexOf(replacement) + replacement.length);
  const alias = new Option(`${old}${argument}`, `deprecated: use ${replacement}`).hideHelp();
  if (target.argChoices !== undefined) alias.choices(target.argChoices);
  // After choices(): the replacement's own parser (its choice check, or its validation) runs on the value.
  if (target.parseArg !== undefined) alias.argParser(target.parseArg);
  cmd.addOption(alias);
  const oldKey = alias.attributeName();
  const newKey = target.attributeName();
  return cmd.hook("preAction", (self) => {
    const value = self.getOptionValue(oldKey);
    if (value === undefined) return;
    const source = self.getOptionValueSource(newKey);
    if (source !== undefined && source !== "default")
      self.error(`error: ${old}: give ${replacement} only (${old} is its deprecated name; both were given)`, {
        exitCode: 2,
        code: "clarifai.deprecatedFlag",
      });
    self.configureOutput().writeErr?.(`${deprecationWarning(old)}\n`);
    self.setOptionValueWithSource(newKey, value, "cli");
    self.setOptionValueWithSource(oldKey, undefined, "default");
  });
}

/**
 * The deprecation `option` of `cmd` is an alias for, if it is one: a hidden deprecated name on a
 * command that takes its replacement (tail's hidden `--to` is the refused time bound, not sync's alias).
 */
export function deprecatedAliasOf(cmd: Command, option: Option): DeprecatedFlag | undefined {
  if (!option.hidden || option.long === undefined) return undefined;
  const replacement = cmd.options.find((o) => !o.hidden && deprecationOf(option.long as string, o.long));
  return replacement === undefined ? undefined : deprecationOf(option.long, replacement.long);
}
