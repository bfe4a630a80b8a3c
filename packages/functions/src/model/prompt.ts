/** `prompt` with `{input}` replaced, or the input appended after it. */
export function applyPrompt(prompt: string | undefined, input: string): string {
  if (!prompt) return input;
  return prompt.includes('{input}') ? prompt.split('{input}').join(input) : `${prompt}\n\n${input}`;
}
