import { readFileSync } from 'fs';
import { join } from 'path';
import { resolveConfig } from '../../src/config';
import { HOST_SETTING_VARIABLES, hostEnvironmentParts } from '../../src/host-settings';
import { DERIVED, INPUTS } from '../../src/inputs';
import { variableName } from '../../src/validation';
import { hostSettings } from '../../src/user-data';
import { REQUIRED_PROPS } from '../helpers/synth';

/** Each property of SshBastionServiceProps with whether it is optional, its TSDoc text and its `@default` text. */
function documentedProps(): { prop: string; optional: boolean; text: string; documentedDefault: string | undefined }[] {
  const source = readFileSync(join(__dirname, '../../src/props.ts'), 'utf-8');
  const start = source.indexOf('export interface SshBastionServiceProps {');
  const body = source.slice(start, source.indexOf('\n}\n', start));
  return [...body.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*readonly (\w+)(\??):/g)].map(([, doc, prop, optional]) => ({
    prop,
    optional: optional === '?',
    text: doc
      .split('\n')
      .map((line) => line.replace(/^\s*\*\s?/, ''))
      .join(' ')
      .split('@')[0],
    documentedDefault: /@default (.*)/.exec(doc)?.[1].trim(),
  }));
}

/** The literal of a `@default` line, without the explanation in parentheses after it: `'' (no DNS record)` is "". */
function literalOf(text: string): unknown {
  return JSON.parse(text.split(' (')[0].replace(/'/g, '"'));
}

/**
 * TSDoc text as Terraform users read it: without markdown code marks and links, property names
 * written as their variables' names (allowedIamGroups: allowed_iam_groups), spaces collapsed.
 */
function asModuleText(text: string): string {
  return text
    .replace(/`/g, '')
    .replace(/\{@link (\w+)\}/g, '$1')
    .replace(/\b[a-z]+(?:[A-Z0-9][a-z0-9]*)+\b/g, (name) => variableName(name))
    .replace(/\s+/g, ' ')
    .trim();
}

/** What may follow the TSDoc's text in a variable's description: what null, "", [] or false stand for in Terraform. */
const MODULE_DEFAULT = /^( (null|""|\[\]|false): .*)?$/;

describe('the table of inputs', () => {
  const documented = documentedProps();

  test('has one entry per construct property, in both directions', () => {
    expect(documented.length).toBeGreaterThan(60);
    expect(INPUTS.map((input) => input.prop).sort()).toEqual(documented.map(({ prop }) => prop).sort());
    expect(new Set(INPUTS.map((input) => input.prop)).size).toBe(INPUTS.length);
  });

  test.each(documentedProps().map((entry) => [entry.prop, entry] as const))(
    "%s: the TSDoc's @default and the table's default agree",
    (prop, { optional, documentedDefault }) => {
      const input = INPUTS.find((candidate) => candidate.prop === prop)!;
      if (!optional) {
        expect(documentedDefault).toBeUndefined();
        expect(input.default).toBeUndefined();
        return;
      }
      expect(documentedDefault).toBeDefined();
      if (documentedDefault!.startsWith('-')) {
        // A derived default: computed from other inputs, or what a literal default stands for where it is used.
        expect(input.default === DERIVED || input.standsFor !== undefined).toBe(true);
      } else {
        expect(input.default).not.toBe(DERIVED);
        expect(input.standsFor).toBeUndefined();
        expect(input.default).toEqual(literalOf(documentedDefault!));
      }
    },
  );

  test.each(documentedProps().map((entry) => [entry.prop, entry] as const))(
    "%s: the module variable's description is the TSDoc's text, then what null or an empty value stands for",
    (prop, { text }) => {
      const { description } = INPUTS.find((candidate) => candidate.prop === prop)!;
      const expected = asModuleText(text);
      expect(description.slice(0, expected.length)).toBe(expected);
      expect(description.slice(expected.length)).toMatch(MODULE_DEFAULT);
    },
  );

  test('each rule is listed with the input it checks', () => {
    const misplaced = INPUTS.flatMap((input) =>
      (input.rules ?? []).filter((rule) => rule.prop !== input.prop).map((rule) => `${rule.prop} under ${input.prop}`),
    );
    expect(misplaced).toEqual([]);
    expect(INPUTS.filter((input) => (input.rules ?? []).length > 0).length).toBeGreaterThan(45);
  });

  test('a derived default has a derivation or is documented where it is computed', () => {
    for (const input of INPUTS) {
      if (input.derive !== undefined) expect(input.default).toBe(DERIVED);
    }
    expect(INPUTS.filter((input) => input.default === DERIVED && input.derive === undefined).map((input) => input.prop)).toEqual([
      'targetSessionsPerHost',
    ]);
  });

  /** A value of each type other than the default, and how bastion.env writes it. */
  const SAMPLES: { [type: string]: [unknown, string] } = {
    number: [7, '7'],
    string: ['public.ecr.aws/example/sample:1', 'public.ecr.aws/example/sample:1'],
    bool: [true, 'true'],
    'list(string)': [['admins', 'developers'], 'admins,developers'],
  };

  test.each(INPUTS.filter((input) => input.hostSetting !== undefined).map((input) => [input.prop, input] as const))(
    "%s reaches the hosts' bastion.env under its host setting's name",
    (prop, { hostSetting, type }) => {
      const [value, text] = SAMPLES[type];
      const settings = hostSettings(resolveConfig({ ...REQUIRED_PROPS, [prop]: value }), {
        region: 'r',
        bucket: 'b',
        key: 'k',
        sha256: 's',
      });
      const lines = hostEnvironmentParts(settings).join('').split('\n');
      expect(lines).toContain(`${hostSetting}=${text}`);
    },
  );

  test('host settings have distinct names', () => {
    const names = Object.values(HOST_SETTING_VARIABLES);
    expect(new Set(names).size).toBe(names.length);
  });
});
