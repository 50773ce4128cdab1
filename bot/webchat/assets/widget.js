// supportbot chat widget. Include it on any page with one tag:
//
//   <script src="https://support.example.com/chat/widget.js" data-trigger="web" async></script>
//
// It adds a button that opens the chat in an iframe served by supportbot.
// The page that includes it must be listed in webchat.frame_ancestors.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__supportbotWidget) return;
  window.__supportbotWidget = true;

  var base = new URL(script.src, document.baseURI);
  var trigger = script.getAttribute('data-trigger') || '';
  if (trigger && !/^[A-Za-z0-9_-]{1,128}$/.test(trigger)) return;
  var label = script.getAttribute('data-label') || 'Chat with us';
  var src = new URL('/chat' + (trigger ? '/' + trigger : ''), base.origin);
  src.searchParams.set('embed', '1');

  function start() {
    var button = document.createElement('button');
    button.type = 'button';
    button.textContent = label;
    button.setAttribute('aria-expanded', 'false');
    button.setAttribute('data-supportbot', 'launcher');
    button.style.cssText = 'position:fixed;right:20px;bottom:20px;z-index:2147483646;padding:12px 18px;' +
      'border:0;border-radius:24px;background:#1f4fd1;color:#fff;font:600 15px system-ui,sans-serif;' +
      'box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer';

    var frame = null;
    button.addEventListener('click', function () {
      if (!frame) {
        frame = document.createElement('iframe');
        frame.src = src.href;
        frame.title = label;
        frame.setAttribute('data-supportbot', 'chat');
        frame.style.cssText = 'position:fixed;right:20px;bottom:76px;z-index:2147483647;' +
          'width:min(380px,calc(100vw - 40px));height:min(560px,calc(100vh - 110px));' +
          'border:0;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);background:#fff';
        document.body.appendChild(frame);
        button.setAttribute('aria-expanded', 'true');
        return;
      }
      var open = frame.style.display === 'none';
      frame.style.display = open ? '' : 'none';
      button.setAttribute('aria-expanded', String(open));
    });
    document.body.appendChild(button);
  }

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
