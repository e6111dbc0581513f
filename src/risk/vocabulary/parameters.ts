// Parameter names and phrases that change what a tool does: code to run, modes, paths, personal data.

/** Parameter names that carry code or a statement to run. */
export const CODE_PARAMETERS = new Set([
  'code',
  'script',
  'command',
  'cmd',
  'commands',
  'expression',
  'function',
  'javascript',
  'js',
  'source',
  'snippet',
  'sql',
  'query',
  'statement',
  'cypher',
  'pipeline',
  'program',
  'shell',
]);
/** Parameter names that say the tool selects among modes (rule 1). */
export const MODE_PARAMETERS = new Set([
  'action',
  'actions',
  'operation',
  'operations',
  'op',
  'mode',
  'method',
  'command',
  'verb',
  'subcommand',
  'type',
]);

/** Words that name a file-system path in parameters. */
export const PATH_PARAMETERS =
  /^(path|paths|file|files|filename|file_?path|directory|dir|folder|source|destination|dest|target_?path|output_?path|cwd|working_?dir(ectory)?|filepath|root)$/i;

/** Words in a parameter or description that mean personal data. */
export const PII_WORDS =
  /\b(e-?mail address(es)?|phone( number)?s?|home address|date of birth|birthday|ssn|social security|passport|personal (data|information)|contacts?|attendees?|customers?|employees?|payroll|salary|patients?)\b/i;
