import * as fs from 'fs';
import * as path from 'path';
import { checkPolicy, POLICY_RULES } from '../../src/policy';
import { moduleJson, stackJson } from './fixtures';

describe('policy suite', () => {
  test("lists every rule file under its file's name, and every rule has its tests", () => {
    const files = fs
      .readdirSync(path.resolve(__dirname, '../../src/policy/rules'))
      .map((file) => path.parse(file).name)
      .sort();
    expect(Object.keys(POLICY_RULES).sort()).toEqual(files);
    for (const name of files) expect(fs.existsSync(path.join(__dirname, `${name}.test.ts`))).toBe(true);
  });

  test('the registry module passes every rule', () => {
    expect(checkPolicy(moduleJson())).toEqual([]);
  });

  test('a stack with literal properties passes every rule', () => {
    expect(checkPolicy(stackJson())).toEqual([]);
  });
});
