// Loading a host program (an executable file without .py, which Python cannot import by name) as a
// Python module, for the tests that drive its functions and classes directly with the system Python.

/**
 * Python lines that load the host program at `pathExpression` (a Python expression, by default the
 * script's first argument) as the module `module`, bound to the name `variable`. Importing `sys`
 * is the caller's part.
 */
export function loadHostProgram(module: string, variable: string, pathExpression = 'sys.argv[1]'): string {
  return [
    'import importlib.machinery, importlib.util',
    `_loader = importlib.machinery.SourceFileLoader(${JSON.stringify(module)}, ${pathExpression})`,
    `${variable} = importlib.util.module_from_spec(importlib.util.spec_from_loader(${JSON.stringify(module)}, _loader))`,
    `_loader.exec_module(${variable})`,
  ].join('\n');
}
