/** scripts/docs.js: the generated README tables. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- scripts/ is CommonJS without type declarations
const { renderReadme, versionConstraint } = require('../../scripts/docs.js');

const MODULE = {
  versionsJson: { terraform: { required_version: '>= 1.9', required_providers: { aws: { source: 'hashicorp/aws', version: '>= 6.0' } } } },
  mainJson: { resource: { aws_lb: { load_balancer: {} } }, data: { aws_region: { region: {} } } },
  variablesJson: {
    variable: {
      tags: { type: 'map(string)', description: 'Tags.', default: {} },
      vpc_id: { type: 'string', description: 'The VPC.' },
      name: { type: 'string', description: 'Becomes <env>-<name> | or not\nsecond line', default: 'a|b' },
      maybe: { type: 'list(string)', description: 'Optional.', default: null },
    },
  },
  outputsJson: { output: { secret: { description: 'Hidden.', sensitive: true }, arn: { description: 'The ARN.' } } },
};

function render(
  template = 'Version {{ version }}, use {{ version_constraint }}.\n<!-- BEGIN_TF_DOCS -->\nold tables\n<!-- END_TF_DOCS -->\nEnd.\n',
): string {
  return renderReadme(template, { version: '1.2.3', ...MODULE });
}

describe('docs: README generation', () => {
  test('fills the version placeholders and keeps the text around the markers', () => {
    const readme = render();
    expect(readme.startsWith('Version 1.2.3, use ~> 1.2.\n<!-- BEGIN_TF_DOCS -->\n## Requirements')).toBe(true);
    expect(readme.endsWith('<!-- END_TF_DOCS -->\nEnd.\n')).toBe(true);
    expect(readme).not.toContain('old tables');
  });

  test('lists required inputs first, then the others by name, with Terraform-style defaults', () => {
    const rows = render()
      .split('\n')
      .filter((line) => line.startsWith('| <a name="input_'));
    expect(rows.map((row) => /input_([a-z_]+)/.exec(row)![1])).toEqual(['vpc_id', 'maybe', 'name', 'tags']);
    expect(rows[0]).toMatch(/\| `string` \| n\/a \| yes \|$/);
    expect(rows[1]).toMatch(/\| `null` \| no \|$/);
    expect(rows[3]).toMatch(/\| `\{\}` \| no \|$/);
  });

  test('escapes what would break a table row or vanish as HTML', () => {
    const row = render()
      .split('\n')
      .find((line) => line.includes('input_name'))!;
    expect(row).toContain('Becomes &lt;env&gt;-&lt;name&gt; \\| or not<br>second line');
    expect(row).toContain('`"a\\|b"`');
  });

  test('has requirements, resources and data sources, and marks sensitive outputs', () => {
    const readme = render();
    expect(readme).toContain('| terraform | `>= 1.9` |');
    expect(readme).toContain('| aws (hashicorp/aws) | `>= 6.0` |');
    expect(readme).toContain('| `aws_lb.load_balancer` | resource |');
    expect(readme).toContain('| `data.aws_region.region` | data source |');
    expect(readme).toContain('[secret](#output_secret) | Hidden. (sensitive) |');
  });

  test('fails when a variable has no description', () => {
    const variablesJson = { variable: { bare: { type: 'string' } } };
    expect(() => renderReadme('<!-- BEGIN_TF_DOCS --><!-- END_TF_DOCS -->', { ...MODULE, version: '1.0.0', variablesJson })).toThrow(
      'variable bare has no description: every input must be documented',
    );
  });

  test('fails when the template has no markers or an unknown placeholder', () => {
    expect(() => render('no markers')).toThrow(/needs <!-- BEGIN_TF_DOCS --> followed by <!-- END_TF_DOCS -->/);
    expect(() => render('{{ nope }}<!-- BEGIN_TF_DOCS --><!-- END_TF_DOCS -->')).toThrow(/unknown placeholder \{\{ nope \}\}/);
  });

  test('the version constraint allows the later versions of the same major.minor series and above', () => {
    expect(versionConstraint('0.1.0')).toBe('~> 0.1');
    expect(versionConstraint('1.2.0-rc.1')).toBe('~> 1.2');
    expect(() => versionConstraint('1.2')).toThrow(/not semver/);
  });
});
