#!/usr/bin/env node
// The published module's README: module/README.md with its placeholders filled and the
// Requirements, Resources, Inputs and Outputs tables generated from the synthesized
// versions/main/variables/outputs .tf.json files, so the tables can never disagree with the module.
//
//   npm run docs [-- <module dir>]   rewrites <module dir>/README.md (default: the built module in dist/)
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const TEMPLATE = path.join(root, 'module', 'README.md');
const BEGIN = '<!-- BEGIN_TF_DOCS -->';
const END = '<!-- END_TF_DOCS -->';

/** Text for a Markdown table cell: no line breaks, no column separators, no HTML tags. */
function cell(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A value as it is written in Terraform (JSON and HCL agree for these types). */
function hclValue(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(hclValue).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)} = ${hclValue(value[key])}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return JSON.stringify(value);
}

/** A code span in a table cell: taken literally by Markdown, so only the column separator needs escaping (GFM). */
function code(text) {
  return `\`${String(text).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')}\``;
}

function anchor(kind, name) {
  return `<a name="${kind}_${name}"></a> [${name}](#${kind}_${name})`;
}

/** Required inputs first, then the optional ones, each group by name: the order terraform-docs uses with sort-by required. */
function inputsTable(variables) {
  const names = Object.keys(variables);
  const required = (name) => !Object.prototype.hasOwnProperty.call(variables[name], 'default');
  names.sort((a, b) => Number(required(b)) - Number(required(a)) || (a < b ? -1 : a > b ? 1 : 0));
  const rows = names.map((name) => {
    const variable = variables[name];
    if (!variable.description) throw new Error(`variable ${name} has no description: every input must be documented`);
    if (!variable.type) throw new Error(`variable ${name} has no type: every input must be typed`);
    const defaultValue = required(name) ? 'n/a' : code(hclValue(variable.default));
    return `| ${anchor('input', name)} | ${cell(variable.description)} | ${code(variable.type)} | ${defaultValue} | ${required(name) ? 'yes' : 'no'} |`;
  });
  return [
    '## Inputs',
    '',
    '| Name | Description | Type | Default | Required |',
    '|------|-------------|------|---------|:--------:|',
    ...rows,
  ].join('\n');
}

function outputsTable(outputs) {
  const rows = Object.keys(outputs)
    .sort()
    .map((name) => {
      const output = outputs[name];
      if (!output.description) throw new Error(`output ${name} has no description: every output must be documented`);
      const sensitive = output.sensitive ? ' (sensitive)' : '';
      return `| ${anchor('output', name)} | ${cell(output.description)}${sensitive} |`;
    });
  return ['## Outputs', '', '| Name | Description |', '|------|-------------|', ...rows].join('\n');
}

function requirementsTable(terraform) {
  const rows = [];
  if (terraform.required_version) rows.push(`| terraform | ${code(terraform.required_version)} |`);
  const providers = terraform.required_providers ?? {};
  for (const name of Object.keys(providers).sort())
    rows.push(`| ${name} (${cell(providers[name].source)}) | ${code(providers[name].version ?? 'any')} |`);
  return ['## Requirements', '', '| Name | Version |', '|------|---------|', ...rows].join('\n');
}

/** Resources, then data sources, each by address. */
function resourcesTable(main) {
  const rows = [];
  for (const [blocks, kind, prefix] of [
    [main.resource, 'resource', ''],
    [main.data, 'data source', 'data.'],
  ]) {
    for (const type of Object.keys(blocks ?? {}).sort()) {
      for (const name of Object.keys(blocks[type]).sort()) rows.push(`| ${code(`${prefix}${type}.${name}`)} | ${kind} |`);
    }
  }
  return ['## Resources', '', '| Name | Type |', '|------|------|', ...rows].join('\n');
}

/** The generated part between the markers. */
function renderDocs({ versionsJson, mainJson, variablesJson, outputsJson }) {
  return [
    requirementsTable(versionsJson.terraform ?? {}),
    resourcesTable(mainJson),
    inputsTable(variablesJson.variable ?? {}),
    outputsTable(outputsJson.output ?? {}),
  ].join('\n\n');
}

/** `~> major.minor`: every later version without breaking changes (for 0.x: the same minor series and above, per Terraform's rules). */
function versionConstraint(version) {
  const match = /^(\d+)\.(\d+)\.\d+/.exec(version);
  if (!match) throw new Error(`version ${JSON.stringify(version)} is not semver (MAJOR.MINOR.PATCH)`);
  return `~> ${match[1]}.${match[2]}`;
}

/**
 * The README: the template with {{ version }} and {{ version_constraint }} filled in and the
 * generated tables between the BEGIN_TF_DOCS/END_TF_DOCS markers (whatever was there is replaced).
 */
function renderReadme(template, { version, ...moduleJson }) {
  const begin = template.indexOf(BEGIN);
  const end = template.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`the README template needs ${BEGIN} followed by ${END}`);
  const values = { version, version_constraint: versionConstraint(version) };
  const filled = (text) =>
    text.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (match, key) => {
      if (!(key in values))
        throw new Error(`unknown placeholder ${match} in the README template; known: ${Object.keys(values).join(', ')}`);
      return values[key];
    });
  return `${filled(template.slice(0, begin))}${BEGIN}\n${renderDocs(moduleJson)}\n${END}${filled(template.slice(end + END.length))}`;
}

/** Renders the README of a built module directory from its own .tf.json files. */
function readmeForModule(moduleDir, version) {
  const read = (file) => JSON.parse(fs.readFileSync(path.join(moduleDir, file), 'utf-8'));
  return renderReadme(fs.readFileSync(TEMPLATE, 'utf-8'), {
    version,
    versionsJson: read('versions.tf.json'),
    mainJson: read('main.tf.json'),
    variablesJson: read('variables.tf.json'),
    outputsJson: read('outputs.tf.json'),
  });
}

module.exports = { renderDocs, renderReadme, readmeForModule, versionConstraint, BEGIN, END };

if (require.main === module) {
  const moduleDir = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'terraform-aws-ssh-bastion-service'));
  if (!fs.existsSync(path.join(moduleDir, 'variables.tf.json'))) {
    console.error(`docs: ${moduleDir} holds no variables.tf.json; run npm run build first or pass a built module directory`);
    process.exit(1);
  }
  const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf-8'));
  fs.writeFileSync(path.join(moduleDir, 'README.md'), readmeForModule(moduleDir, version));
  console.log(`wrote ${path.relative(root, path.join(moduleDir, 'README.md')) || 'README.md'}`);
}
