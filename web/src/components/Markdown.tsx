// Model output is untrusted input: Markdown is rendered by marked, then everything that could
// run or phone home (scripts, event handlers, javascript: and data: links, forms, frames) is
// removed by DOMPurify before it reaches the DOM.
import DOMPurify from "dompurify";
import { marked } from "marked";
import { useMemo } from "react";

const purifier = DOMPurify(window);
purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.getAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
  if (node.tagName === "IMG") {
    // A remote image is a beacon; the CSP blocks it too, this keeps it out of the DOM.
    const src = node.getAttribute("src") ?? "";
    if (!src.startsWith("data:image/")) node.removeAttribute("src");
    // An image the model gave no description is decorative to a screen reader, not a gap.
    if (!node.hasAttribute("alt")) node.setAttribute("alt", "");
  }
});

export function renderMarkdown(text: string): string {
  const html = marked.parse(text, { async: false, gfm: true, breaks: true });
  return purifier.sanitize(html, {
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "object", "embed"],
    FORBID_ATTR: ["style"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#|\/)/i,
  });
}

export function Markdown({ text, label }: { text: string; label?: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  return <div className="markdown" aria-label={label} dangerouslySetInnerHTML={{ __html: html }} />;
}
