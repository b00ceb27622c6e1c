// keepalived.conf → KeepalivedConf, all or nothing: a bad file throws one
// KeepalivedConfError saying where, and nothing partial is returned.
// The top level knows global_defs, vrrp_script and vrrp_instance; anything
// else (virtual_server, vrrp_sync_group, …) is warned about and skipped.
import { checkVridConflicts } from './vrid-conflicts.js';
import { completeInstance } from './complete-instance.js';
import { ParseContext, type ParseOptions } from './context.js';
import { DEFAULT_CONF_FILE_NAME } from './errors.js';
import { defaultGlobalDefs, readGlobalDefs } from './global-defs.js';
import type { InstanceDraft, UnresolvedTrackScript } from './instance-draft.js';
import { tokenize } from './lexer.js';
import { keywordTable, readStatements, TokenStream } from './statements.js';
import type { KeepalivedConf, VrrpScriptConf } from './types.js';
import { readVrrpInstance } from './vrrp-instance.js';
import { readVrrpScript } from './vrrp-script.js';

const TOP_KEYWORDS = keywordTable([
  ['global_defs', 0, 0, 'statements'],
  ['vrrp_script', 1, 1, 'statements'],
  ['vrrp_instance', 1, 1, 'statements'],
]);

/** Pure: the text in, the configuration out. Throws only KeepalivedConfError for a bad file. */
export function parseKeepalivedConf(text: string, options: ParseOptions = {}): KeepalivedConf {
  const context = new ParseContext(options.fileName ?? DEFAULT_CONF_FILE_NAME, options.oneKeywordPerLine ?? false);
  const stream = new TokenStream(tokenize(text, context));
  const globalDefs = defaultGlobalDefs();
  const scripts = new Map<string, VrrpScriptConf>();
  const drafts: InstanceDraft[] = [];
  const unresolvedTrackScripts: UnresolvedTrackScript[] = [];

  readStatements(context, stream, TOP_KEYWORDS, undefined, context.fileName, ({ keyword, args, opener }) => {
    const name = args[0]!;
    if (keyword.text === 'global_defs') {
      readGlobalDefs(context, stream, opener!, globalDefs);
    } else if (keyword.text === 'vrrp_script') {
      const script = readVrrpScript(context, stream, name, opener!);
      // keepalived looks scripts up by name and finds the first.
      if (scripts.has(script.name)) context.warn(name, `vrrp_script ${script.name} is already defined; keepalived uses the first definition`);
      else scripts.set(script.name, script);
    } else {
      const previous = drafts.find((draft) => draft.name.text === name.text);
      if (previous !== undefined) context.fail(name, `vrrp_instance ${name.text} is already defined at line ${previous.name.line}`);
      drafts.push(readVrrpInstance(context, stream, name, opener!, { scriptsSoFar: scripts, unresolvedTrackScripts }));
    }
  });

  for (const { instance, token } of unresolvedTrackScripts) {
    context.warn(
      token,
      scripts.has(token.text)
        ? `track_script ${token.text} of ${instance} names a vrrp_script defined further down; keepalived resolves track_script as it reads, so it ignores this one (define the vrrp_script first)`
        : `track_script ${token.text} of ${instance}: no vrrp_script ${token.text}; ignored as keepalived does`,
    );
  }
  // Globals are complete only now: keepalived applies them to every instance wherever global_defs sits.
  const instances = drafts.map((draft) => {
    const conf = completeInstance(context, draft, globalDefs, scripts);
    return { conf, vridToken: draft.vrid!.token };
  });
  checkVridConflicts(context, instances);
  return { globalDefs, scripts, instances: instances.map(({ conf }) => conf), warnings: context.warnings() };
}
