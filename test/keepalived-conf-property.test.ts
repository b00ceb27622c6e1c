// keepalived.conf, property-based: bad input only ever ends in a
// KeepalivedConfError (the parser's own invariant checks would surface as any
// other error), and how a valid file is laid out — one keyword per line, or
// several keyword/value pairs per line — does not change what it means.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseKeepalivedConf, KeepalivedConfError, type KeepalivedConf } from '../src/runtime/keepalived/conf/index.js';

/** Parses, or returns the error; anything but a KeepalivedConfError fails the property. */
function outcome(text: string, oneKeywordPerLine = false): KeepalivedConf | KeepalivedConfError {
  try {
    return parseKeepalivedConf(text, { oneKeywordPerLine });
  } catch (error) {
    if (error instanceof KeepalivedConfError) {
      expect(error.line).toBeGreaterThanOrEqual(1);
      expect(error.column).toBeGreaterThanOrEqual(1);
      expect(error.message.startsWith(`keepalived.conf:${error.line}:${error.column}: `)).toBe(true);
      return error;
    }
    throw error;
  }
}

// A statement is [keyword, ...values]; a block is [keyword, name?, statements].
type Line = readonly string[];
interface Block {
  head: Line;
  lines: ReadonlyArray<Line | Block>;
}

const word = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/).filter((text) => !KEYWORDS.includes(text));
const octet = fc.integer({ min: 0, max: 255 });
const address = fc.tuple(fc.constant(198), fc.constantFrom(18, 19), octet, octet).map((parts) => parts.join('.'));
const seconds = fc.integer({ min: 1, max: 255 }).map(String);

const KEYWORDS = [
  'global_defs', 'vrrp_script', 'vrrp_instance', 'router_id', 'enable_script_security', 'script_user', 'vrrp_version',
  'vrrp_garp_master_delay', 'vrrp_garp_master_repeat', 'vrrp_garp_master_refresh', 'vrrp_garp_master_refresh_repeat',
  'script', 'interval', 'timeout', 'weight', 'rise', 'fall', 'user', 'state', 'interface', 'virtual_router_id', 'priority',
  'advert_int', 'version', 'nopreempt', 'preempt', 'preempt_delay', 'authentication', 'auth_type', 'auth_pass',
  'virtual_ipaddress', 'unicast_src_ip', 'unicast_peer', 'track_script', 'track_interface', 'notify_master',
  'notify_backup', 'notify_fault', 'notify_stop', 'notify', 'garp_master_delay', 'garp_master_repeat',
  'garp_master_refresh', 'garp_master_refresh_repeat', 'dev', 'reverse', 'noreverse', 'MASTER', 'BACKUP', 'PASS', 'AH',
];

const optional = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arbitrary, { nil: undefined });
const lines = (entries: ReadonlyArray<Line | undefined>): Line[] => entries.filter((entry): entry is Line => entry !== undefined);

const globalDefs: fc.Arbitrary<Block> = fc
  .record({
    routerId: optional(word),
    security: fc.boolean(),
    user: optional(fc.tuple(word, optional(word))),
    version: optional(fc.constantFrom('2', '3')),
    refresh: optional(fc.nat(100).map(String)),
    refreshRepeat: optional(fc.integer({ min: 1, max: 9 }).map(String)),
  })
  .map((g) => ({
    head: ['global_defs'],
    lines: lines([
      g.routerId === undefined ? undefined : ['router_id', g.routerId],
      g.security ? ['enable_script_security'] : undefined,
      g.user === undefined ? undefined : ['script_user', ...g.user.filter((part): part is string => part !== undefined)],
      g.version === undefined ? undefined : ['vrrp_version', g.version],
      g.refresh === undefined ? undefined : ['vrrp_garp_master_refresh', g.refresh],
      g.refreshRepeat === undefined ? undefined : ['vrrp_garp_master_refresh_repeat', g.refreshRepeat],
    ]),
  }));

const script = (name: string): fc.Arbitrary<Block> =>
  fc
    .record({
      interval: optional(seconds),
      timeout: optional(seconds),
      weight: optional(fc.integer({ min: -253, max: 253 }).map(String)),
      rise: optional(fc.integer({ min: 1, max: 9 }).map(String)),
      fall: optional(fc.integer({ min: 1, max: 9 }).map(String)),
      user: optional(word),
    })
    .map((s) => ({
      head: ['vrrp_script', name],
      lines: lines([
        ['script', `"/usr/libexec/${name}.sh --check"`],
        s.interval === undefined ? undefined : ['interval', s.interval],
        s.timeout === undefined ? undefined : ['timeout', s.timeout],
        s.weight === undefined ? undefined : ['weight', s.weight],
        s.rise === undefined ? undefined : ['rise', s.rise],
        s.fall === undefined ? undefined : ['fall', s.fall],
        s.user === undefined ? undefined : ['user', s.user],
      ]),
    }));

const instance = (name: string, vrid: number, scripts: readonly string[]): fc.Arbitrary<Block> =>
  fc
    .record({
      state: optional(fc.constantFrom('MASTER', 'BACKUP')),
      priority: optional(fc.integer({ min: 1, max: 255 }).map(String)),
      advert: optional(fc.constantFrom('1', '2', '0.5', '3.25')),
      version: optional(fc.constantFrom('2', '3')),
      nopreempt: fc.boolean(),
      preemptDelay: optional(fc.constantFrom('0', '2', '4.5')),
      auth: optional(fc.tuple(fc.constantFrom('PASS', 'AH'), fc.stringMatching(/^[a-z0-9]{1,12}$/))),
      vips: fc.array(fc.tuple(address, optional(fc.integer({ min: 8, max: 32 })), optional(fc.constantFrom('eth0', 'eth1'))), { minLength: 1, maxLength: 3 }),
      peers: fc.array(address, { maxLength: 2 }),
      tracked: fc.subarray([...scripts]),
      trackWeight: optional(fc.integer({ min: -253, max: 253 })),
      trackInterfaces: fc.subarray(['eth1', 'eth2']),
      notify: optional(fc.constantFrom('"/usr/libexec/notify.sh master"', '/usr/libexec/notify.sh')),
      garpRepeat: optional(fc.integer({ min: 1, max: 9 }).map(String)),
    })
    .map((i) => ({
      head: ['vrrp_instance', name],
      lines: [
        ...lines([
          ['interface', 'eth0'],
          i.state === undefined ? undefined : ['state', i.state],
          ['virtual_router_id', String(vrid)],
          i.priority === undefined ? undefined : ['priority', i.priority],
          i.advert === undefined ? undefined : ['advert_int', i.advert],
          i.version === undefined ? undefined : ['version', i.version],
          i.nopreempt ? ['nopreempt'] : undefined,
          i.preemptDelay === undefined ? undefined : ['preempt_delay', i.preemptDelay],
          i.notify === undefined ? undefined : ['notify_master', i.notify],
          i.garpRepeat === undefined ? undefined : ['garp_master_repeat', i.garpRepeat],
        ]),
        ...(i.auth === undefined ? [] : [{ head: ['authentication'], lines: [['auth_type', i.auth[0]], ['auth_pass', i.auth[1]]] }]),
        { head: ['virtual_ipaddress'], lines: i.vips.map(([vip, prefix, dev]) => [prefix === undefined ? vip : `${vip}/${prefix}`, ...(dev === undefined ? [] : ['dev', dev])]) },
        ...(i.peers.length === 0 ? [] : [{ head: ['unicast_peer'], lines: i.peers.map((peer) => [peer]) }]),
        ...(i.tracked.length === 0 ? [] : [{ head: ['track_script'], lines: i.tracked.map((name) => (i.trackWeight === undefined ? [name] : [name, 'weight', String(i.trackWeight)])) }]),
        ...(i.trackInterfaces.length === 0 ? [] : [{ head: ['track_interface'], lines: i.trackInterfaces.map((iface) => [iface]) }]),
      ],
    }));

/** A whole file: globals anywhere, scripts before the instances that track them, distinct names and VRIDs. */
const validFile: fc.Arbitrary<Block[]> = fc
  .tuple(fc.uniqueArray(word, { minLength: 0, maxLength: 2 }), fc.integer({ min: 1, max: 3 }), optional(globalDefs), fc.nat(5))
  .chain(([scriptNames, instanceCount, globals, globalsAt]) =>
    fc
      .tuple(
        fc.tuple(...scriptNames.map((name) => script(name))),
        fc.tuple(...Array.from({ length: instanceCount }, (_, index) => instance(`VI_${index + 1}`, 10 + index, scriptNames))),
      )
      .map(([scripts, instances]) => {
        const blocks: Block[] = [...scripts, ...instances];
        if (globals !== undefined) blocks.splice(globalsAt % (blocks.length + 1), 0, globals);
        return blocks;
      }),
  );

/** keepalived's documented layout: one keyword per line, `{` on the keyword's line. */
function renderLines(blocks: ReadonlyArray<Line | Block>, indent = ''): string {
  return blocks
    .map((item) => ('head' in item ? `${indent}${item.head.join(' ')} {\n${renderLines(item.lines, `${indent}    `)}${indent}}\n` : `${indent}${item.join(' ')}\n`))
    .join('');
}

/** The product's layout: a block's statements share its line, two blanks apart; a top-level block per line (keepalived reads at most 1022 bytes a line). */
function renderCompact(blocks: ReadonlyArray<Line | Block>, separator = '\n'): string {
  return blocks.map((item) => ('head' in item ? `${item.head.join(' ')} { ${renderCompact(item.lines, '  ')} }` : item.join(' '))).join(separator);
}

function meaning(conf: KeepalivedConf): unknown {
  return { globals: conf.globalDefs, scripts: [...conf.scripts], instances: conf.instances.map(({ line: _line, ...rest }) => rest) };
}

describe('keepalived.conf: properties', () => {
  it('refuses arbitrary text only with a KeepalivedConfError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        outcome(text);
        outcome(text, true);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses soups of its own keywords, braces, quotes and numbers only with a KeepalivedConfError', () => {
    const piece = fc.oneof(
      fc.constantFrom(...KEYWORDS),
      fc.constantFrom('{', '}', '{', '}', '\n', '\n', '"', '#', '!', ' ', '\t', '\\', '@', '$', 'include x'),
      fc.constantFrom('0', '1', '255', '256', '-1', '2.5', '0.001', '1e3', '', '198.18.0.1', '198.18.0.1/24', 'fe80::1', '::', '1.2.3', '__proto__', 'constructor'),
      word,
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 80 }), (pieces) => {
        const text = pieces.join(' ');
        outcome(text);
        outcome(text, true);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses valid files with a mutation only with a KeepalivedConfError', () => {
    const mutation = fc.tuple(fc.nat(), fc.nat(3), fc.constantFrom('{', '}', '"', '#', '\n', ' ', 'x', '9', '-', '.', '/', '\u0000', '\u00e9', '300', 'nopreempt', 'vrrp_instance V'));
    fc.assert(
      fc.property(validFile, fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (blocks, compact, mutations) => {
        let text = compact ? renderCompact(blocks) : renderLines(blocks);
        for (const [at, cut, insert] of mutations) {
          const index = at % (text.length + 1);
          text = text.slice(0, index) + insert + text.slice(index + cut);
        }
        outcome(text);
        outcome(text, true);
      }),
      { numRuns: 300 },
    );
  });

  it('reads one keyword per line the same whether or not it splits lines itself, and the compact layout the same as the documented one', () => {
    fc.assert(
      fc.property(validFile, (blocks) => {
        const documented = outcome(renderLines(blocks));
        expect(documented).not.toBeInstanceOf(KeepalivedConfError);
        expect(outcome(renderLines(blocks), true)).toEqual(documented);
        const compact = outcome(renderCompact(blocks));
        expect(compact).not.toBeInstanceOf(KeepalivedConfError);
        expect(meaning(compact as KeepalivedConf)).toEqual(meaning(documented as KeepalivedConf));
      }),
      { numRuns: 300 },
    );
  });
});
