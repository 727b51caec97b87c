import type { OutputTable } from '@app/collections';
import { copyRowsSql, copyRowsText } from './output-copy';

describe(copyRowsText.name, () => {
  it('writes a line a row, its columns then its version, tab-separated; NULL as \\N', () => {
    const rows = [
      ['a', 1, 2.5, true, null],
      ['b', -3, 1e21, false, '{"x":1}'],
    ];

    expect(copyRowsText(rows, [10, 20])).toBe('a\t1\t2.5\tt\t\\N\t10\nb\t-3\t1e+21\tf\t{"x":1}\t20\n');
  });

  it('escapes what the text format gives a meaning to', () => {
    expect(copyRowsText([['tab\there', 'line\nbreak\r', 'back\\slash', '\\N']], [1])).toBe(
      'tab\\there\tline\\nbreak\\r\tback\\\\slash\t\\\\N\t1\n',
    );
  });

  it('takes the rows at the indexes given, with their versions', () => {
    expect(copyRowsText([['a'], ['b'], ['c']], [1, 2, 3], [2, 0])).toBe('c\t3\na\t1\n');
    expect(copyRowsText([['a']], [1], [])).toBe('');
  });
});

describe(copyRowsSql.name, () => {
  it('copies into the columns then the version column, names quoted', () => {
    const output = {
      schema: 'tenant a',
      table: 'Screens',
      versionColumn: 'spillway_version',
      columns: [{ name: 'session_id' }, { name: 'Position' }],
    } as unknown as OutputTable;

    expect(copyRowsSql(output)).toBe(
      'COPY "tenant a"."Screens" ("session_id", "Position", "spillway_version") FROM STDIN',
    );
  });
});
