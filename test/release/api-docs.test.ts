import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');

describe('API reference generated from the TSDoc comments (npm run docs:api)', () => {
  let out: string;
  beforeAll(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'api-docs-'));
    execFileSync(
      process.execPath,
      [path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out, '--treatWarningsAsErrors'],
      { cwd: root, stdio: 'pipe' },
    );
  }, 120_000);
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  test('documents the construct, its props and the module stack', () => {
    for (const page of ['classes/SshBastionService.md', 'interfaces/SshBastionServiceProps.md', 'classes/SshBastionModuleStack.md']) {
      expect(fs.existsSync(path.join(out, page))).toBe(true);
    }
  });

  test('every optional property documents its @default', () => {
    const props = fs.readFileSync(path.join(out, 'interfaces/SshBastionServiceProps.md'), 'utf-8');
    const sections = props.split(/^### /m).slice(1);
    const optional = sections.filter((section) => section.split('\n')[0].endsWith('?'));
    expect(optional.length).toBeGreaterThan(40);
    const undocumented = optional.filter((section) => !section.includes('#### Default')).map((section) => section.split('\n')[0]);
    expect(undocumented).toEqual([]);
  });
});
