// Small pieces every page uses.

/** An error said to the person, announced by screen readers; nothing when there is none. */
export function Alert({ message, id }: { message: string; id?: string }) {
  if (message === '') return null;
  return (
    <p id={id} class="error" role="alert">
      {message}
    </p>
  );
}
