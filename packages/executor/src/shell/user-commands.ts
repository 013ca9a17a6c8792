import type { ScriptWriter } from './writer.js';

/**
 * Writes user commands the way upstream's `writeCommands` does: each is trimmed, echoed in bold green as
 * `$ <command>` (the command's text, so `$VAR` references, never their values), then run as shell source.
 * A multi-line command echoes its first line with `# collapsed multi-line command`, or, with `sections`
 * (FF_SCRIPT_SECTIONS and the `trace_sections` feature), a collapsed section `section_<prefix>_<i>` holding it.
 * An empty command prints an empty line.
 */
export function writeUserCommands(w: ScriptWriter, prefix: string, commands: readonly string[], sections: boolean): void {
  commands.forEach((raw, i) => {
    const command = raw.trim();
    if (command === '') {
      w.emptyLine();
      return;
    }
    const newline = command.indexOf('\n');
    if (newline < 0) {
      w.notice(`$ ${command}`);
    } else if (sections) {
      const name = `section_${prefix}_${i}`;
      w.sectionStart(name, `$ ${command}`, ['hide_duration=true', 'collapsed=true']);
      w.sectionEnd(name);
    } else {
      w.notice(`$ ${command.slice(0, newline)} # collapsed multi-line command`);
    }
    w.userCommand(command);
  });
}
